import type { ProviderName } from '../providers/types.js'
import type { Grid } from '../types.js'

/** The task shapes the gateway accepts, named by the protocol that sends them. */
export type Protocol = 'classification' | 'complex' | 'grid' | 'classic'

/** One task as a client asked for it, whatever its protocol. */
export interface TaskSpec {
  protocol: Protocol
  /** The image bytes (a payload, a widget or a page screenshot). */
  image?: Buffer | undefined
  /** CapMonster's imageUrls[0], fetched by the gateway. */
  imageUrl?: string | undefined
  /** A /m/ id, a name in any language, or the instruction sentence. */
  question: string
  grid?: Grid | undefined
  confidence?: number | undefined
}

/** Why the gateway refuses or fails a task; each protocol words it as its clients expect. */
export type RefusalKind =
  | 'key'
  | 'budget'
  | 'no_task'
  | 'absent'
  | 'unsupported'
  | 'image'
  | 'too_big'
  | 'question'
  | 'unsolvable'
  | 'busy'
  | 'closing'
  | 'bad_action'
  | 'report_failed'

export class Refusal extends Error {
  constructor(
    readonly kind: RefusalKind,
    message: string,
  ) {
    super(message)
    this.name = 'Refusal'
  }
}

/** What a solved task answers, before each protocol shapes it. */
export interface TaskAnswer {
  grid: Grid
  type: 'multi' | 'single'
  /** 0-based, row-major. */
  objects: number[]
  hasObject: boolean | null
  provider: ProviderName
  /** The service's own task ids for this answer (one per tile of a dynamic round), for reports. */
  taskIds?: string[] | undefined
}

/** A row of the task table (in memory or in Redis). */
export interface TaskRecord {
  id: string
  /** The client's name (never its key). */
  client: string
  protocol: Protocol
  status: 'processing' | 'ready' | 'failed'
  answer?: TaskAnswer
  failure?: { kind: RefusalKind; message: string }
  createdAt: number
  /** Set once a client has read the finished answer. */
  fetched?: boolean
}

/** A client of the gateway as configured (serve.clients). */
export interface GatewayClient {
  name: string
  key: string
  maxPoints?: number | undefined
  maxPointsPerHour?: number | undefined
}
