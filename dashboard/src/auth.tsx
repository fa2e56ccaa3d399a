// Who is signed in, shared by every screen. The session lives in an HttpOnly cookie the
// dashboard never sees; /auth/me says whether it is valid and hands out the CSRF token.

import { createContext, useContext, type ReactNode } from "react";
import { useQuery, useQueryClient } from "@tanstack/react-query";

import { ApiError, api, setCsrfToken } from "./api/client";
import type { Me, Role } from "./api/types";

interface Auth {
  me: Me;
  /** Whether the signed-in actor may do what `role` may. */
  can: (role: Role) => boolean;
  signOut: () => Promise<void>;
}

const AuthContext = createContext<Auth | null>(null);

const rank: Record<Role, number> = { viewer: 0, editor: 1, admin: 2 };

export function useMe() {
  return useQuery({
    queryKey: ["me"],
    queryFn: async () => {
      try {
        const me = await api.get<Me>("/auth/me");
        setCsrfToken(me.csrf_token);
        return me;
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) return null;
        throw error;
      }
    },
    staleTime: 60_000,
  });
}

export function AuthProvider({ me, children }: { me: Me; children: ReactNode }) {
  const queryClient = useQueryClient();
  const value: Auth = {
    me,
    can: (role) => rank[me.role] >= rank[role],
    signOut: async () => {
      await api.post("/auth/logout");
      setCsrfToken(undefined);
      queryClient.clear();
      queryClient.setQueryData(["me"], null);
    },
  };
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): Auth {
  const auth = useContext(AuthContext);
  if (!auth) throw new Error("useAuth outside AuthProvider");
  return auth;
}
