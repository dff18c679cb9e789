export {
  buildLogSampler,
  LOG_SAMPLING_DEFAULTS,
  LOG_SAMPLING_OPTION_SCHEMA,
  LOG_SAMPLING_OPTION_SCHEMA_KEY,
  resolveLogSampling,
  SAMPLED_OUT_OVERFLOW_ROUTE,
  WILDCARD_ROUTE,
  type CompletionVerdictInput,
  type LogSampler,
  type LogSamplingOptions,
  type SamplingRule,
} from './log-sampling';
