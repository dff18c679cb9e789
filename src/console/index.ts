/** The operator console: recent lines searchable in the process, and statistics. */
export { CONSOLE_DEFAULTS } from './capability';
export type { ConsoleOptions, ConsoleSettings } from './capability';
