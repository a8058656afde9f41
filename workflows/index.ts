// The workflow bundle's entry: everything registered with Temporal workers.
export { collect, progressQuery, approveSignal, rejectSignal } from './collect';
