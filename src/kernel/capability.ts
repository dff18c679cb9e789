import type { EnvSource } from '../config/env';
import type { OptionSchema } from '../config/validate-options';
import type { Hooks } from './hooks';
import type { Kernel } from './kernel';

/**
 * A capability of `createObservability`: its options, resolved before anything is opened, and its builder, which
 * takes what it needs from the kernel, puts its hooks into `hooks` and returns the members it adds to the
 * instance. `resolve` returns undefined when the capability is switched off: it is then not built at all.
 */
export interface Capability<R = unknown> {
  readonly name: string;
  readonly schema: OptionSchema;
  resolve(options: Readonly<Record<string, unknown>>, env: EnvSource): R | undefined;
  /** Paths the capability will serve on `obs.router`, checked for clashes before anything is built. */
  routePaths?(resolved: R): readonly string[];
  /** Whether the capability reads every written line (`kernel.lineTap`); asked before the kernel is built. */
  needsLineTap?(resolved: R): boolean;
  build(resolved: R, kernel: Kernel, hooks: Hooks): Readonly<Record<string, unknown>>;
}

/** Declares a capability (an identity function that keeps the resolved type of each one checked). */
export function defineCapability<R>(capability: Capability<R>): Capability<R> {
  return capability;
}
