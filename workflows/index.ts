// The workflow bundle's entry: everything registered with Temporal workers.
export { collect } from './collect';
export { progressQuery, approveSignal, rejectSignal } from './messages';
