// The one way the dashboard talks to the control plane: JSON in and out, the session
// cookie sent by the browser, the CSRF token on every write, and errors as ApiError.

import type { ErrorBody } from "./types";

/** An error answer from the API, with the field it names when it names one. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field: string | undefined;
  readonly body: ErrorBody | undefined;

  constructor(status: number, body: ErrorBody | undefined, fallback: string) {
    super(body?.error.message ?? fallback);
    this.status = status;
    this.code = body?.error.code ?? "http_error";
    this.field = body?.error.field;
    this.body = body;
  }
}

let csrfToken: string | undefined;

/** Remembers the token the API handed out with the session (login, setup, /auth/me). */
export function setCsrfToken(token: string | undefined): void {
  csrfToken = token;
}

type Method = "GET" | "POST" | "PUT" | "DELETE";

export async function request<T>(method: Method, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (method !== "GET" && csrfToken) headers["x-csrf-token"] = csrfToken;
  const response = await fetch(`/api/v1${path}`, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const parsed: unknown = text ? JSON.parse(text) : undefined;
  if (!response.ok) {
    const errorBody = isErrorBody(parsed) ? parsed : undefined;
    throw new ApiError(response.status, errorBody, `${method} ${path} failed with ${response.status}`);
  }
  return parsed as T;
}

function isErrorBody(value: unknown): value is ErrorBody {
  return typeof value === "object" && value !== null && "error" in value;
}

export const api = {
  get: <T>(path: string) => request<T>("GET", path),
  post: <T = unknown>(path: string, body?: unknown) => request<T>("POST", path, body ?? {}),
  put: <T = unknown>(path: string, body: unknown) => request<T>("PUT", path, body),
  delete: <T = unknown>(path: string) => request<T>("DELETE", path),
};

/** Path segment escaping for keys typed by people. */
export const seg = encodeURIComponent;
