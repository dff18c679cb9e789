export { installCrashLines, unhandledRejectionsMode } from './crash-lines';
export type { CrashLineTarget, UnhandledRejectionsMode } from './crash-lines';
