// Types for stack.mjs, for tests written in TypeScript.

export type Api = (
  method: string,
  path: string,
  body?: unknown,
) => Promise<{ status: number; body: any }>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface Stack {
  cpUrl: string;
  edgeUrl: string;
  logs: string[];
  stopEdge(): Promise<void>;
  startEdge(): Promise<void>;
  stop(): Promise<void>;
}

export function startStack(name: string, options?: { edgeArgs?: string[] }): Promise<Stack>;
export function apiSession(cpUrl: string, email: string, password: string): Promise<Api>;
export function setUpAdmin(cpUrl: string, email?: string, password?: string): Promise<Api>;
export function launchChromium<B>(chromium: { launch(options: object): Promise<B> }): Promise<B>;
