import pino, { type Logger } from 'pino';
import { ObservabilityError } from '../errors/obs-error';

/** Log levels, lowest first. `silent` turns logging off. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Module and channel names: what `module` and `channel` may be for levels and files to apply. */
export const LOG_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}$/;
const LEVEL_SET: ReadonlySet<string> = new Set(LOG_LEVELS);

/** Levels of every logger of an instance, as they are now. */
export interface LogLevelsSnapshot {
  /** The default level: lines without a module of their own, and modules without a level of their own. */
  readonly level: LogLevel;
  /** Levels set for particular modules (option `logLevels`, `LOG_LEVELS`, or at run time). */
  readonly modules: Readonly<Record<string, LogLevel>>;
  /** Modules whose lines are written when `logModulesEnabled` / `LOG_MODULES_ENABLED` is set; undefined: every module. */
  readonly modulesEnabled: readonly string[] | undefined;
}

/** The configured levels, resolved from options and environment variables. */
export interface ResolvedLogLevels {
  readonly level: LogLevel;
  readonly modules: ReadonlyMap<string, LogLevel>;
  readonly modulesEnabled: ReadonlySet<string> | undefined;
}

const chindingsSym = pino.symbols.chindingsSym as unknown as symbol;

const MODULE_KEY = '"module":"';

/**
 * The `module` a child logger's bindings name: the last `"module":"..."` of its bindings text (a later binding
 * wins, as when pino parses them), read only when its bindings mention one.
 */
function moduleOf(logger: Logger): string | undefined {
  const chindings = (logger as unknown as Record<symbol, unknown>)[chindingsSym];
  if (typeof chindings !== 'string') return undefined;
  const at = chindings.lastIndexOf(MODULE_KEY);
  if (at === -1) return undefined;
  const start = at + MODULE_KEY.length;
  const end = chindings.indexOf('"', start);
  if (end === -1) return undefined;
  const raw = chindings.slice(start, end);
  if (!raw.endsWith('\\') && !raw.includes('\\')) return raw;
  // Escapes in the name (or a quote inside it): read the JSON string properly.
  const match = /^((?:[^"\\]|\\.)*)"/.exec(chindings.slice(start));
  if (match === null) return undefined;
  try {
    return JSON.parse(`"${match[1]}"`) as string;
  } catch {
    return undefined;
  }
}

/**
 * Runs the levels of one instance's loggers: the main logger and channel loggers (roots), and every module logger
 * made from them (`logger.child({ module: 'db' })`, at any depth). A child without a level of its own follows its
 * parent at run time (pino children inherit through their prototype), so only module loggers are tracked, by weak
 * reference, and only their levels are set here.
 */
export class LogLevelControl {
  private defaultLevel: LogLevel;
  private readonly moduleLevels: Map<string, LogLevel>;
  private readonly configured: ResolvedLogLevels;
  private readonly roots: { logger: Logger; ownLevel: LogLevel | undefined }[] = [];
  private tracked: { ref: WeakRef<Logger>; module: string }[] = [];
  private pruneAt = 256;

  constructor(configured: ResolvedLogLevels) {
    this.configured = configured;
    this.defaultLevel = configured.level;
    this.moduleLevels = new Map(configured.modules);
  }

  /** A root logger: the main one or a channel's own (`ownLevel` set when the channel has a level of its own). */
  addRoot(logger: Logger, ownLevel?: LogLevel): void {
    this.roots.push({ logger, ownLevel });
    logger.level = ownLevel ?? this.defaultLevel;
  }

  /** pino's `onChild`: called for every child of every logger of the instance, after its options are applied. */
  readonly onChild = (child: Logger): void => {
    const module = moduleOf(child);
    if (module === undefined) return;
    if (this.tracked.length >= this.pruneAt) this.prune();
    this.tracked.push({ ref: new WeakRef(child), module });
    const level = this.moduleLevel(module);
    if (level !== undefined) child.level = level;
  };

  /** The level a module's loggers are given, or undefined when they follow their parent. */
  private moduleLevel(module: string): LogLevel | undefined {
    const own = this.moduleLevels.get(module);
    if (own !== undefined) return own;
    const enabled = this.configured.modulesEnabled;
    if (enabled !== undefined && !enabled.has(module)) return 'silent';
    return undefined;
  }

  private prune(): void {
    this.tracked = this.tracked.filter((t) => t.ref.deref() !== undefined);
    this.pruneAt = Math.max(256, this.tracked.length * 2);
  }

  private apply(): void {
    for (const root of this.roots) root.logger.level = root.ownLevel ?? this.defaultLevel;
    this.prune();
    // Parents before children (they were created first), so a child following its parent reads the new level.
    for (const { ref, module } of this.tracked) {
      const logger = ref.deref();
      if (logger === undefined) continue;
      logger.level = this.moduleLevel(module) ?? (Object.getPrototypeOf(logger) as Logger).level;
    }
  }

  /**
   * Sets the default level (no `module`) or one module's level, at once for every logger already made.
   * @throws {ObservabilityError} `OBS_ERR_INVALID_ARGUMENT` for an unknown level or an invalid module name.
   */
  set(level: LogLevel, module?: string): void {
    checkLevel(level, 'level');
    if (module === undefined) this.defaultLevel = level;
    else {
      checkName(module, 'module');
      this.moduleLevels.set(module, level);
    }
    this.apply();
  }

  /** Back to the configured levels: of one module, or of everything when `module` is omitted. */
  reset(module?: string): void {
    if (module === undefined) {
      this.defaultLevel = this.configured.level;
      this.moduleLevels.clear();
      for (const [m, l] of this.configured.modules) this.moduleLevels.set(m, l);
    } else {
      checkName(module, 'module');
      const configured = this.configured.modules.get(module);
      if (configured === undefined) this.moduleLevels.delete(module);
      else this.moduleLevels.set(module, configured);
    }
    this.apply();
  }

  snapshot(): LogLevelsSnapshot {
    return Object.freeze({
      level: this.defaultLevel,
      modules: Object.freeze(Object.fromEntries(this.moduleLevels)),
      modulesEnabled: this.configured.modulesEnabled === undefined ? undefined : Object.freeze([...this.configured.modulesEnabled]),
    });
  }
}

function checkLevel(level: unknown, what: string): asserts level is LogLevel {
  if (typeof level !== 'string' || !LEVEL_SET.has(level)) {
    throw new ObservabilityError(
      'OBS_ERR_INVALID_ARGUMENT',
      `${what} must be one of ${LOG_LEVELS.join(', ')}, got ${typeof level === 'string' ? JSON.stringify(level.slice(0, 60)) : typeof level}`,
    );
  }
}

/** @throws {ObservabilityError} `OBS_ERR_INVALID_ARGUMENT` when `name` is not a valid module or channel name. */
export function checkName(name: unknown, what: string): asserts name is string {
  if (typeof name !== 'string' || !LOG_NAME_PATTERN.test(name)) {
    throw new ObservabilityError(
      'OBS_ERR_INVALID_ARGUMENT',
      `${what} name must be 1 to 64 letters, digits or _ . : / - (starting with a letter or digit), got ${typeof name === 'string' ? JSON.stringify(name.slice(0, 60)) : typeof name}`,
    );
  }
}

/**
 * Parses `db=debug,auth=warn` (`LOG_LEVELS`).
 * @throws {ObservabilityError} `OBS_ERR_ENV_INVALID_VALUE` for anything else.
 */
export function parseModuleLevels(text: string, variable: string): Map<string, LogLevel> {
  const levels = new Map<string, LogLevel>();
  for (const part of text.split(',')) {
    const item = part.trim();
    if (item === '') continue;
    const eq = item.indexOf('=');
    const name = eq === -1 ? '' : item.slice(0, eq).trim();
    const level = eq === -1 ? '' : item.slice(eq + 1).trim().toLowerCase();
    if (!LOG_NAME_PATTERN.test(name) || !LEVEL_SET.has(level)) {
      throw new ObservabilityError(
        'OBS_ERR_ENV_INVALID_VALUE',
        `${variable} must be a comma-separated list of module=level (levels: ${LOG_LEVELS.join(', ')}), got ${JSON.stringify(item.slice(0, 60))}`,
        variable,
      );
    }
    levels.set(name, level as LogLevel);
  }
  return levels;
}

/**
 * Parses `db,auth` (`LOG_MODULES_ENABLED`); `*` means every module (no restriction).
 * @throws {ObservabilityError} `OBS_ERR_ENV_INVALID_VALUE` for an invalid name.
 */
export function parseModuleList(text: string, variable: string): Set<string> | undefined {
  const names = new Set<string>();
  for (const part of text.split(',')) {
    const name = part.trim();
    if (name === '') continue;
    if (name === '*') return undefined;
    if (!LOG_NAME_PATTERN.test(name)) {
      throw new ObservabilityError(
        'OBS_ERR_ENV_INVALID_VALUE',
        `${variable} must be a comma-separated list of module names (or *), got ${JSON.stringify(name.slice(0, 60))}`,
        variable,
      );
    }
    names.add(name);
  }
  // Only separators (`LOG_MODULES_ENABLED=" , "`): as if unset, rather than silencing every module.
  return names.size === 0 ? undefined : names;
}
