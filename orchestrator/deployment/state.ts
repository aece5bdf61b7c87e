import type { DeploymentStateName } from '../../gateway/types.ts';

// The lifecycle of one deployment (one TGI server), as one table of the transitions the supervisor
// (supervisor.ts) makes. Every transition also names the states it expects to leave; a transition
// from any other state is refused, so a late event can never move a deployment backwards.
//
//   pending ─► pulling ─► creating ─► loading ─► ready
//      │          │          │          ▲  │       │
//      │          ▼          ▼          │  ▼       ▼
//      └────────► down ◄─────┴──────────┴─ down ◄──┘   (exited, engine away: brought back by itself)
//   pending…ready, down ─► failed ─► pending   (gave up for now: retried with backoff, or after an edit)
//   any state ─► draining ─► stopped            (removed, replaced)

export type DeploymentState = DeploymentStateName;

export const TRANSITIONS: Readonly<Record<DeploymentState, readonly DeploymentState[]>> = {
  pending: ['pulling', 'creating', 'loading', 'ready', 'down', 'failed', 'draining'],
  pulling: ['creating', 'down', 'failed', 'draining'],
  creating: ['loading', 'down', 'failed', 'draining'],
  loading: ['ready', 'down', 'failed', 'draining'],
  ready: ['down', 'failed', 'draining'],
  down: ['pulling', 'creating', 'loading', 'ready', 'failed', 'draining'],
  failed: ['pending', 'draining'],
  draining: ['stopped'],
  stopped: [],
};

export function canTransition(from: DeploymentState, to: DeploymentState): boolean {
  return TRANSITIONS[from].includes(to);
}

/** States in which a server is wanted and being brought up or kept up. */
export const LIVE_STATES: readonly DeploymentState[] = ['pending', 'pulling', 'creating', 'loading', 'ready', 'down'];
