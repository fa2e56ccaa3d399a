import { Component, type ErrorInfo, type ReactNode } from "react";

/** Shows what broke instead of a blank page when a screen fails to render. */
export class ErrorBoundary extends Component<{ children: ReactNode }, { error: Error | null }> {
  state = { error: null as Error | null };

  static getDerivedStateFromError(error: Error) {
    return { error };
  }

  componentDidCatch(error: Error, info: ErrorInfo) {
    console.error("dashboard screen failed", error, info.componentStack);
  }

  render() {
    if (this.state.error) {
      return (
        <div className="state state-error" role="alert">
          <h1>This screen failed to load</h1>
          <p>{this.state.error.message}</p>
          <button type="button" onClick={() => window.location.reload()}>
            Reload
          </button>
        </div>
      );
    }
    return this.props.children;
  }
}
