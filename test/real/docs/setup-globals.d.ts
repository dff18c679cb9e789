// The globals test/real/docs/setup.cjs gives a TypeScript example that uses a setup (see docs.mjs): the app and
// instance as the library types them, the application's own objects as `any`.
declare const app: import('express').Express;
declare const server: import('node:http').Server;
declare const obs: import('express-observability').Observability;
declare const logger: import('express-observability').MinimalLogger;
declare const pool: any, redis: any, users: any, db: any, charge: any, card: any, loadOrder: any, getUser: any;
declare const requireAdmin: any, authenticate: any, runExport: any, answers: any, queue: any, mailer: any;
declare const openai: any, client: any, Worker: any, user: any, prompt: string, messages: any[], sleep: (ms: number) => Promise<void>;
