/**
 * The gateway's Prometheus metrics, in a registry of its own (two gateways in one process, as in
 * the tests, do not share counters). Labels carry client names and service names, never keys.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client'

export interface GatewayMetrics {
  registry: Registry
  tasks: Counter<'client' | 'protocol' | 'provider' | 'outcome'>
  points: Counter<'client' | 'provider'>
  taskSeconds: Histogram<'protocol' | 'outcome'>
  upstreamSeconds: Histogram<'provider' | 'outcome'>
  inFlight: Gauge
  breakerOpen: Gauge<'provider'>
}

export function createMetrics(): GatewayMetrics {
  const registry = new Registry()
  const buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120]
  return {
    registry,
    tasks: new Counter({
      name: 'rc2_serve_tasks_total',
      help: 'Tasks by client, protocol, the service that answered (none when refused) and outcome',
      labelNames: ['client', 'protocol', 'provider', 'outcome'],
      registers: [registry],
    }),
    points: new Counter({
      name: 'rc2_serve_points_total',
      help: 'Points spent (every call that may have been charged), by client and service',
      labelNames: ['client', 'provider'],
      registers: [registry],
    }),
    taskSeconds: new Histogram({
      name: 'rc2_serve_task_duration_seconds',
      help: 'Time from createTask / in.php to the answer, by protocol and outcome',
      labelNames: ['protocol', 'outcome'],
      buckets,
      registers: [registry],
    }),
    upstreamSeconds: new Histogram({
      name: 'rc2_serve_upstream_duration_seconds',
      help: 'Time one service took on a task (preparation included), by service and outcome',
      labelNames: ['provider', 'outcome'],
      buckets,
      registers: [registry],
    }),
    inFlight: new Gauge({
      name: 'rc2_serve_tasks_in_flight',
      help: 'Tasks being solved by this gateway',
      registers: [registry],
    }),
    breakerOpen: new Gauge({
      name: 'rc2_serve_breaker_open',
      help: '1 while a service is set aside by the circuit breaker',
      labelNames: ['provider'],
      registers: [registry],
    }),
  }
}
