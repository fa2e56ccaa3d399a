export { Togglerino } from "./client.js";
export { fetchBootstrap, type BootstrapOptions } from "./bootstrap.js";
export {
  TogglerinoError,
  type EvaluationContext,
  type FlagDetails,
  type FlagValues,
  type Status,
  type StorageLike,
  type TogglerinoOptions,
} from "./types.js";
