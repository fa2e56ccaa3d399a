import { Navigate, Route, Routes } from "react-router-dom";
import { useQuery } from "@tanstack/react-query";

import { api } from "./api/client";
import { AuthProvider, useAuth, useMe } from "./auth";
import type { ReactNode } from "react";
import { Failed, Loading } from "./components/ui";
import { Layout } from "./components/Layout";
import { AccountPage } from "./pages/AccountPage";
import { GlobalAuditPage, ProjectAuditPage } from "./pages/AuditPages";
import { EdgesPage } from "./pages/EdgesPage";
import { EnvironmentsPage } from "./pages/EnvironmentsPage";
import { FlagDetailPage } from "./pages/FlagDetailPage";
import { FlagsPage } from "./pages/FlagsPage";
import { LoginPage } from "./pages/LoginPage";
import { ProjectsPage } from "./pages/ProjectsPage";
import { SegmentsPage } from "./pages/SegmentsPage";
import { SetupPage } from "./pages/SetupPage";
import { StaleFlagsPage } from "./pages/StaleFlagsPage";
import { TeamPage } from "./pages/TeamPage";
import { TokensPage } from "./pages/TokensPage";

/** Setup while no user exists, login while signed out, the dashboard otherwise. */
export function App() {
  const status = useQuery({
    queryKey: ["auth-status"],
    queryFn: () => api.get<{ setup_required: boolean; setup_token_required: boolean }>("/auth/status"),
  });
  const me = useMe();
  if (status.isPending || me.isPending) return <Loading what="Togglerino" />;
  if (status.isError) return <Failed error={status.error} retry={() => void status.refetch()} />;
  if (me.isError) return <Failed error={me.error} retry={() => void me.refetch()} />;
  if (status.data.setup_required) {
    return (
      <Routes>
        <Route path="*" element={<SetupPage tokenRequired={status.data.setup_token_required} />} />
      </Routes>
    );
  }
  if (!me.data) {
    return (
      <Routes>
        <Route path="*" element={<LoginPage />} />
      </Routes>
    );
  }
  return (
    <AuthProvider me={me.data}>
      <Routes>
        <Route element={<Layout />}>
          <Route index element={<ProjectsPage />} />
          <Route path="projects/:project/flags" element={<FlagsPage />} />
          <Route path="projects/:project/flags/:flag" element={<FlagDetailPage />} />
          <Route path="projects/:project/environments" element={<EnvironmentsPage />} />
          <Route path="projects/:project/segments" element={<SegmentsPage />} />
          <Route path="projects/:project/audit" element={<ProjectAuditPage />} />
          <Route path="projects/:project/stale-flags" element={<StaleFlagsPage />} />
          <Route path="team" element={<AdminOnly><TeamPage /></AdminOnly>} />
          <Route path="tokens" element={<AdminOnly><TokensPage /></AdminOnly>} />
          <Route path="audit" element={<AdminOnly><GlobalAuditPage /></AdminOnly>} />
          <Route path="edges" element={<EdgesPage />} />
          <Route path="account" element={<AccountPage />} />
          <Route path="*" element={<Navigate to="/" replace />} />
        </Route>
      </Routes>
    </AuthProvider>
  );
}

/** Admin screens: others are told why instead of seeing a failed request. */
function AdminOnly({ children }: { children: ReactNode }) {
  const { can } = useAuth();
  if (!can("admin")) {
    return (
      <div className="state" role="alert">
        Only admins can see this page.
      </div>
    );
  }
  return <>{children}</>;
}
