"""The delivery pipeline: scheduler tick, outbox, relay, broker, workers, the loop."""
