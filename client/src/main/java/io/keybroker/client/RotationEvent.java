package io.keybroker.client;

import java.time.Instant;

/** A rotation announced on the watch stream: versions and time, never a value. */
public record RotationEvent(String name, String currentVersion, String previousVersion, Instant rotatedAt) {
}
