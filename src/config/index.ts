export { loadConfig, ConfigError, parseListen, type LoadedConfig } from './load';
export { PARAMS, envName, type Config, type ListenAddress, type ApiToken, type ParamSpec } from './schema';
