import {
  createContext,
  useContext,
  useEffect,
  useMemo,
  useRef,
  useState,
  useSyncExternalStore,
  type ReactNode,
} from "react";
import {
  Togglerino,
  type FlagDetails,
  type FlagValues,
  type Status,
  type TogglerinoError,
  type TogglerinoOptions,
} from "@togglerino/sdk";

interface Shared {
  client: Togglerino;
  /** What the server rendered with: bootstrap values, never anything later. */
  server: Map<string, FlagDetails>;
  suspense: boolean;
}

const SharedContext = createContext<Shared | null>(null);

const NOT_FOUND: FlagDetails = Object.freeze({ value: undefined, variant: null, reason: "FLAG_NOT_FOUND" });

export type TogglerinoProviderProps = {
  children?: ReactNode;
  /** Suspend rendering (show the nearest `<Suspense>` fallback) until the first answer or the timeout; never on the server. */
  suspense?: boolean;
} & ({ client: Togglerino; config?: never } | { config: TogglerinoOptions; client?: never });

function useShared(client: Togglerino, suspense: boolean): Shared {
  return useMemo(
    () => ({ client, server: new Map(Object.entries(client.bootstrapFlags() ?? {})), suspense }),
    [client, suspense],
  );
}

/**
 * Makes a client available to the hooks below it: yours (`client`), or one made from
 * `config` and closed when the provider unmounts. Connecting happens in an effect, so
 * rendering on the server never touches the network or `window`.
 */
export function TogglerinoProvider(props: TogglerinoProviderProps) {
  const [owned] = useState(() => props.client ?? new Togglerino(props.config as TogglerinoOptions));
  const client = props.client ?? owned;
  const closing = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => {
    clearTimeout(closing.current);
    void client.initialize();
    if (props.client) return undefined;
    // Deferred, so StrictMode's unmount and remount keeps the same client alive.
    return () => {
      closing.current = setTimeout(() => client.close());
    };
  }, [client, props.client]);
  const shared = useShared(client, props.suspense ?? false);
  return <SharedContext.Provider value={shared}>{props.children}</SharedContext.Provider>;
}

function useSharedContext(): Shared {
  const shared = useContext(SharedContext);
  if (!shared) throw new Error("Togglerino hooks need a <TogglerinoProvider> above them");
  return shared;
}

/** The client, for `identify`, `allFlags` or events. */
export function useTogglerino(): Togglerino {
  return useSharedContext().client;
}

const waits = new WeakMap<Togglerino, { promise: Promise<void>; done: boolean }>();
const isServer = typeof window === "undefined";

/** In suspense mode, throws until the first answer or the timeout (`initialize` never rejects). */
function suspendUntilReady({ client, suspense }: Shared): void {
  if (!suspense || isServer || client.ready) return;
  let wait = waits.get(client);
  if (!wait) {
    const created = { done: false, promise: Promise.resolve() };
    created.promise = client.initialize().then(() => {
      created.done = true;
    });
    waits.set(client, created);
    wait = created;
  }
  if (!wait.done) throw wait.promise;
}

/** One flag's details; the component re-renders only when this flag's answer changes. */
export function useFlagDetails(key: string): FlagDetails {
  const shared = useSharedContext();
  suspendUntilReady(shared);
  const { client, server } = shared;
  const details = useSyncExternalStore(
    (changed) => {
      client.on(`change:${key}`, changed);
      return () => client.off(`change:${key}`, changed);
    },
    // React asks for the snapshot several times per render: only the render counts as a read.
    () => client.peekDetails(key),
    () => server.get(key) ?? NOT_FOUND,
  );
  if (!isServer) client.getDetails(key);
  return details;
}

type Widen<T> = T extends boolean ? boolean : T extends string ? string : T extends number ? number : T;

/**
 * One flag's value, or `defaultValue` while it is unknown or of another type than the
 * default; the component re-renders only when this flag's answer changes.
 */
export function useFlag<T>(key: string, defaultValue: T): Widen<T> {
  const { value } = useFlagDetails(key);
  return (sameType(value, defaultValue) ? value : defaultValue) as Widen<T>;
}

function sameType(value: unknown, defaultValue: unknown): boolean {
  if (value === undefined) return false;
  if (typeof defaultValue === "number") return typeof value === "number" && Number.isFinite(value);
  if (typeof defaultValue !== "object" || defaultValue === null) return typeof value === typeof defaultValue;
  if (Array.isArray(defaultValue)) return Array.isArray(value);
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export interface FlagsStatus {
  /** Values from the edge or bootstrap are served. */
  ready: boolean;
  /** The latest failure, until the edge answers again. */
  error: TogglerinoError | null;
  status: Status;
}

/** Whether flags are ready, the latest error and the connection's status. */
export function useFlagsStatus(): FlagsStatus {
  const { client } = useSharedContext();
  const last = useRef<FlagsStatus | null>(null);
  const read = (): FlagsStatus => {
    const now = { ready: client.ready, error: client.lastError, status: client.status };
    const previous = last.current;
    if (previous && previous.ready === now.ready && previous.error === now.error && previous.status === now.status) {
      return previous;
    }
    last.current = now;
    return now;
  };
  return useSyncExternalStore(
    (changed) => {
      const events = ["ready", "error", "status", "change"] as const;
      for (const event of events) client.on(event as "ready", changed);
      return () => {
        for (const event of events) client.off(event, changed);
      };
    },
    read,
    read,
  );
}

export interface TogglerinoTestProviderProps {
  /** Flag values by key, or whole details (`{ value, variant, reason }`). */
  flags: Record<string, unknown>;
  children?: ReactNode;
}

/** Serves fixed values to the hooks, for application tests: no edge, no network, ready at once. */
export function TogglerinoTestProvider({ flags, children }: TogglerinoTestProviderProps) {
  const client = useMemo(() => {
    const bootstrap: FlagValues = {};
    for (const [key, value] of Object.entries(flags)) {
      bootstrap[key] = isDetails(value) ? value : { value, variant: null, reason: "STATIC" };
    }
    return new Togglerino({
      baseUrl: "http://togglerino.test",
      sdkKey: "test",
      project: "test",
      environment: "test",
      bootstrap,
      storage: null,
    });
  }, [flags]);
  const shared = useShared(client, false);
  return <SharedContext.Provider value={shared}>{children}</SharedContext.Provider>;
}

function isDetails(value: unknown): value is FlagDetails {
  return typeof value === "object" && value !== null && "value" in value && "reason" in value;
}

export { fetchBootstrap } from "@togglerino/sdk";
export type { FlagDetails, FlagValues, Status, TogglerinoOptions } from "@togglerino/sdk";
