import { NavLink, Outlet, useNavigate } from "react-router-dom";

import { useAuth } from "../auth";

export function Layout() {
  const { me, can, signOut } = useAuth();
  const navigate = useNavigate();
  return (
    <div className="app">
      <header className="topbar">
        <NavLink to="/" className="brand">
          Togglerino
        </NavLink>
        <nav aria-label="Main">
          <NavLink to="/" end>
            Projects
          </NavLink>
          <NavLink to="/edges">Edges</NavLink>
          {can("admin") && (
            <>
              <NavLink to="/team">Team</NavLink>
              <NavLink to="/tokens">Tokens</NavLink>
              <NavLink to="/audit">Audit log</NavLink>
            </>
          )}
        </nav>
        <div className="topbar-user">
          <NavLink to="/account" title="Your account">
            {me.name}
          </NavLink>
          <span className={`badge badge-role-${me.role}`}>{me.role}</span>
          <button
            type="button"
            className="link"
            onClick={() => void signOut().then(() => navigate("/"))}
          >
            Sign out
          </button>
        </div>
      </header>
      <main className="content">
        <Outlet />
      </main>
    </div>
  );
}
