/** Express's `next`, typed without depending on a particular Express major version. */
export type NextFunction = (err?: unknown) => void;
