/**
 * What the pipeline steers in the Kafka consumer, by partition of its one topic; offsets are
 * decimal strings. seek/pause/resume do nothing while no consumer runs (the next group join
 * sets positions and pauses again); commitOffsets rejects then.
 */
export interface ConsumerControl {
  seek(partition: number, offset: string): void
  pause(partition: number): void
  resume(partition: number): void
  commitOffsets(offsets: { partition: number; offset: string }[]): Promise<void>
  /** Each partition's log start offset (its low watermark). */
  lowOffsets(): Promise<Map<number, string>>
}
