package io.keybroker.backend.vault;

import io.keybroker.backend.ChangeMarker;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.Collections;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Optional;
import java.util.TreeMap;
import org.jspecify.annotations.Nullable;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The answer of {@code GET <kv-mount>/metadata/<path>}: the latest written version and the state of every
 * version Vault still keeps. Metadata never carries a value, so it is parsed into an ordinary tree.
 *
 * @param currentVersion Vault's {@code current_version}: the newest written version, live or not
 * @param versions every version Vault keeps, by version number
 */
record KvMetadata(long currentVersion, NavigableMap<Long, KvVersion> versions) {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    KvMetadata {
        versions = Collections.unmodifiableNavigableMap(new TreeMap<>(versions));
    }

    /**
     * Parses a metadata answer.
     * @throws IllegalArgumentException when the answer does not have the KV v2 metadata shape (for example the
     *     mount is KV version 1); the message names what is missing
     */
    static KvMetadata parse(byte[] body) {
        JsonNode data;
        try {
            data = JSON.readTree(body).path("data");
        } catch (JacksonException ex) {
            throw new IllegalArgumentException("the metadata answer is not JSON");
        }
        if (!data.isObject() || !data.path("current_version").isIntegralNumber()
                || !data.path("versions").isObject()) {
            throw new IllegalArgumentException("the metadata answer has no data.current_version and data.versions "
                    + "(is the mount a KV version 2 engine?)");
        }
        TreeMap<Long, KvVersion> versions = new TreeMap<>();
        for (Map.Entry<String, JsonNode> entry : data.path("versions").properties()) {
            long number;
            try {
                number = Long.parseLong(entry.getKey());
            } catch (NumberFormatException ex) {
                throw new IllegalArgumentException("the metadata answer lists a version that is not a number");
            }
            JsonNode version = entry.getValue();
            versions.put(number, new KvVersion(number, timestamp(version.path("created_time"), "created_time"),
                    optionalTimestamp(version.path("deletion_time")), version.path("destroyed").asBoolean(false)));
        }
        return new KvMetadata(data.path("current_version").asLong(), versions);
    }

    /**
     * Chooses the versions to serve at {@code now}: current is the newest live version, previous the newest live
     * version below it. Empty when no version is live (never written, or every version deleted or destroyed),
     * which the backend reports as "not found".
     */
    Optional<Selection> select(Instant now) {
        KvVersion current = null;
        KvVersion previous = null;
        for (KvVersion version : versions.descendingMap().values()) {
            if (!version.isLive(now)) {
                continue;
            }
            if (current == null) {
                current = version;
            } else {
                previous = version;
                break;
            }
        }
        if (current == null) {
            return Optional.empty();
        }
        // Versions are immutable in KV v2, so which versions are current and previous fully determines what a
        // read returns; current_version is added so that any new write is visible in the marker as well.
        ChangeMarker marker = new ChangeMarker("kv2;current_version=" + currentVersion + ";current="
                + current.number() + ";previous=" + (previous == null ? "none" : previous.number()));
        return Optional.of(new Selection(current, previous, marker));
    }

    private static Instant timestamp(JsonNode node, String name) {
        Instant instant = optionalTimestamp(node);
        if (instant == null) {
            throw new IllegalArgumentException("the metadata answer has a version without " + name);
        }
        return instant;
    }

    private static @Nullable Instant optionalTimestamp(JsonNode node) {
        if (!node.isString() || node.asString().isEmpty()) {
            return null;
        }
        try {
            return OffsetDateTime.parse(node.asString()).toInstant();
        } catch (DateTimeParseException ex) {
            throw new IllegalArgumentException("the metadata answer has a time that is not RFC 3339");
        }
    }

    /**
     * One version as metadata describes it.
     *
     * @param number the KV version number
     * @param createdAt when it was written
     * @param deletionTime when it was (or, with {@code delete_version_after}, will be) soft-deleted, or
     *     {@code null}
     * @param destroyed whether its data was destroyed for good
     */
    record KvVersion(long number, Instant createdAt, Instant deletionTime, boolean destroyed) {

        boolean isLive(Instant now) {
            return !destroyed && (deletionTime == null || deletionTime.isAfter(now));
        }
    }

    /**
     * The versions a read serves and the marker that describes them.
     *
     * @param current the newest live version
     * @param previous the newest live version below current, or {@code null}
     * @param marker the change marker of this state
     */
    record Selection(KvVersion current, KvVersion previous, ChangeMarker marker) {
    }
}
