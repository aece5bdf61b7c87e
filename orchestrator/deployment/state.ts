// The lifecycle of one deployment (one TGI server), as one table of allowed transitions.
//
//   pending ─► pulling ─► creating ─► loading ─► ready
//                                        ▲  │       │
//                                        │  ▼       ▼
//                                        └─ down ◄──┘      (crashed; the restart policy brings it back)
//   any live state ─► failed   (gave up: load failure, crash loop; diagnosis attached)
//   any state ─► draining ─► stopped   (removed, replaced or shut down)

export type DeploymentState =
  | 'pending'
  | 'pulling'
  | 'creating'
  | 'loading'
  | 'ready'
  | 'down'
  | 'failed'
  | 'draining'
  | 'stopped';

export const TRANSITIONS: Readonly<Record<DeploymentState, readonly DeploymentState[]>> = {
  pending: ['pulling', 'creating', 'loading', 'ready', 'failed', 'draining', 'stopped'],
  pulling: ['creating', 'failed', 'draining'],
  creating: ['loading', 'failed', 'draining'],
  loading: ['ready', 'down', 'failed', 'draining'],
  ready: ['down', 'loading', 'failed', 'draining'],
  down: ['loading', 'ready', 'failed', 'draining'],
  failed: ['pending', 'pulling', 'creating', 'loading', 'ready', 'draining', 'stopped'],
  draining: ['stopped'],
  stopped: [],
};

export function canTransition(from: DeploymentState, to: DeploymentState): boolean {
  return TRANSITIONS[from].includes(to);
}
