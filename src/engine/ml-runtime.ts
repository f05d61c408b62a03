/** Everything that pulls in TensorFlow.js, as one lazily loaded chunk of the worker. */
export { fallBackFrom, selectBackend } from './backend';
export { UseLiteEncoder } from './use-lite';
