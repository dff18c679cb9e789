import { randomUUID } from 'node:crypto';
import { Gauge, Histogram, type Registry } from 'prom-client';
import { buildScopeContext, getRequestContext, runWithContext } from '../context/request-context';
import { errorType, readProperty, roundMs, timeOperation, Vocabulary, type DependencyContext } from './operation';

/** Buckets of `job_duration_seconds`: 10 ms to an hour. */
export const JOB_DURATION_BUCKETS = Object.freeze([0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600]);

/** What is known of one run of a job. */
export interface JobRun {
  /** The queue's id of the job (text or number, cut to 128 characters). Default: none. */
  readonly jobId?: string | number;
  /** Which attempt this is, from 1. Default `1`. */
  readonly attempt?: number;
  /** How many attempts the queue makes in all: a failure before the last one is `retried`, not `failed`. Default: unknown (every failure is `failed`). */
  readonly maxAttempts?: number;
  /**
   * The request that queued the job, for a job run elsewhere (its id travels in the job's data). Default: the
   * current request's id when `run()` is called inside one.
   */
  readonly parentRequestId?: string;
}

/** How `obs.jobs.wrap()` reads a run from the processor's first argument (the queue's job object). */
export interface JobRunReaders<J> {
  readonly jobId?: (job: J) => string | number | undefined;
  readonly attempt?: (job: J) => number | undefined;
  readonly maxAttempts?: (job: J) => number | undefined;
  readonly parentRequestId?: (job: J) => string | undefined;
}

/** `obs.jobs`. */
export interface JobHelpers {
  /**
   * Runs `fn` (sync or async) as one run of job `name`, in a context of its own: every line logged inside carries
   * `reqId` (an id of the run), `job` (`name`, `id`, `attempt`) and `parentReqId`, and the trace of the request
   * that started it. Writes `job started` (`job retried` from the second attempt), `job completed`, `job failed`
   * (warn with `willRetry: true` when attempts are left, else error); `job_duration_seconds{job_name,outcome}` and
   * `jobs_active{job_name}`. Returns or rethrows what `fn` does.
   */
  run<T>(name: string, fn: () => T, run?: JobRun): T;
  /**
   * A queue processor that runs `processor` through `run()`, reading the job id and attempt from the job object
   * with `readers` (for BullMQ: `{ jobId: (j) => j.id, attempt: (j) => j.attemptsMade + 1, maxAttempts: (j) =>
   * j.opts.attempts }`). A reader that throws is ignored.
   */
  wrap<J, A extends unknown[], T>(name: string, processor: (job: J, ...rest: A) => T, readers?: JobRunReaders<J>): (job: J, ...rest: A) => T;
}

export interface JobOptions {
  readonly slowMs: number;
  readonly maxLabelValues: number;
}

/** A positive whole attempt number, else undefined. */
function attemptNumber(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 1_000_000 ? value : undefined;
}

/** A request id that can be written on lines: what an incoming request id may hold. */
function parentId(value: unknown): string | undefined {
  return typeof value === 'string' && value.length <= 1024 && /^[\x21-\x7e]+$/.test(value) ? value : undefined;
}

function jobIdText(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return typeof value === 'string' && value !== '' ? value.slice(0, 128) : undefined;
}

export function buildJobHelpers(ctx: DependencyContext & { readonly registry: Registry }, options: JobOptions): JobHelpers {
  const duration = new Histogram({
    name: 'job_duration_seconds',
    help: 'Duration of background job runs, in seconds, by job and outcome (completed, failed, retried).',
    labelNames: ['job_name', 'outcome', 'error_type'],
    buckets: [...JOB_DURATION_BUCKETS],
    registers: [ctx.registry],
  });
  const active = new Gauge({ name: 'jobs_active', help: 'Background job runs in progress, by job.', labelNames: ['job_name'], registers: [ctx.registry] });
  const names = new Vocabulary(options.maxLabelValues);
  const errorTypes = new Vocabulary(options.maxLabelValues);
  const log = ctx.logger.child({ module: 'jobs' });

  function run<T>(name: string, fn: () => T, runInfo?: JobRun): T {
    const jobName = names.label(name) || 'unnamed';
    const attempt = attemptNumber(readProperty(runInfo, 'attempt')) ?? 1;
    const maxAttempts = attemptNumber(readProperty(runInfo, 'maxAttempts'));
    const parent = getRequestContext();
    const parentReqId = parentId(readProperty(runInfo, 'parentRequestId')) ?? parent?.requestId;
    const job = { name: typeof name === 'string' && name !== '' ? name.slice(0, 128) : jobName, id: jobIdText(readProperty(runInfo, 'jobId')), attempt };
    const bindings = parentReqId === undefined ? { job } : { job, parentReqId };
    const context = buildScopeContext(randomUUID(), bindings, parent);
    return runWithContext(context, () => {
      log.info(attempt > 1 ? 'job retried' : 'job started');
      active.inc({ job_name: jobName });
      return timeOperation(fn, ({ durationMs, error }) => {
        active.dec({ job_name: jobName });
        const willRetry = error !== undefined && maxAttempts !== undefined && attempt < maxAttempts;
        const outcome = error === undefined ? 'completed' : willRetry ? 'retried' : 'failed';
        duration.observe({ job_name: jobName, outcome, error_type: error === undefined ? '' : errorTypes.label(errorType(error)) }, durationMs / 1000);
        // `job_name`, not `job`: Prometheus sets `job` on every scraped series and would rename this one `exported_job`.
        ctx.store.record('job', durationMs, { job_name: jobName, outcome });
        // The end lines are written in the job's context even when its promise settles elsewhere.
        runWithContext(context, () => {
          const fields = { durationMs: roundMs(durationMs), outcome };
          if (error !== undefined) {
            if (willRetry) log.warn({ ...fields, err: error, willRetry, maxAttempts }, 'job failed');
            else log.error({ ...fields, err: error, willRetry: false, maxAttempts }, 'job failed');
          } else if (durationMs >= options.slowMs) {
            log.warn({ ...fields, slowThresholdMs: options.slowMs }, 'slow job');
          } else {
            log.info(fields, 'job completed');
          }
        });
      });
    });
  }

  function readWith<J, R>(reader: ((job: J) => R) | undefined, job: J): R | undefined {
    if (typeof reader !== 'function') return undefined;
    try {
      return reader(job);
    } catch {
      return undefined;
    }
  }

  return {
    run,
    wrap(name, processor, readers) {
      const given = (key: keyof JobRunReaders<unknown>) => readProperty(readers, key) as ((job: any) => any) | undefined;
      const jobId = given('jobId');
      const attempt = given('attempt');
      const maxAttempts = given('maxAttempts');
      const parentRequestId = given('parentRequestId');
      return function observedJobProcessor(this: unknown, job, ...rest) {
        return run(name, () => processor.call(this, job, ...rest), {
          jobId: readWith(jobId, job),
          attempt: readWith(attempt, job),
          maxAttempts: readWith(maxAttempts, job),
          parentRequestId: readWith(parentRequestId, job),
        });
      };
    },
  };
}
