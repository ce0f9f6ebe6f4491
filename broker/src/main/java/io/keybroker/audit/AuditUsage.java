package io.keybroker.audit;

import io.keybroker.identity.WorkloadIdentity;
import io.keybroker.policy.Grant;
import io.keybroker.secret.InvalidSecretNameException;
import io.keybroker.secret.SecretName;
import io.keybroker.secret.Stage;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.jspecify.annotations.Nullable;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * What the audit trail shows was used: the distinct (identity, secret, stage) of allowed accesses, read from audit
 * files for {@code keybroker policy unused}. It reads the records, not the hash chain ({@link AuditVerifier} checks
 * that). Mutable while files are read into it; one instance per review.
 */
public final class AuditUsage {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private final Set<Access> accesses = new LinkedHashSet<>();
    private long accessRecords;
    private long allowed;
    private Instant first;
    private Instant last;
    private Instant earliest;

    /** Access records in the period, whatever their decision. */
    public long accessRecords() {
        return accessRecords;
    }

    /** Allowed access records in the period. */
    public long allowed() {
        return allowed;
    }

    /** The time of the first record in the period, or null when there is none. */
    public Instant first() {
        return first;
    }

    /** The time of the last record in the period, or null when there is none. */
    public Instant last() {
        return last;
    }

    /** The time of the earliest record in the files, inside the period or not, or null when there is none. */
    public Instant earliest() {
        return earliest;
    }

    private record Access(WorkloadIdentity identity, SecretName secret, Stage stage) {
    }

    /**
     * Reads one audit file, counting the records at or after {@code cutoff} (every record when null); each line
     * that is not a usable record is added to {@code bad} as {@code FILE:LINE: problem}.
     */
    public void read(Path file, Instant cutoff, List<String> bad) throws IOException {
        try (BufferedReader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line;
            long number = 0;
            while ((line = reader.readLine()) != null) {
                number++;
                if (line.isBlank()) {
                    continue;
                }
                String problem = record(line, cutoff);
                if (problem != null) {
                    bad.add(file + ":" + number + ": " + problem);
                }
            }
        }
    }

    /** Takes in one line; returns a problem, or null. */
    private @Nullable String record(String line, Instant cutoff) {
        JsonNode node;
        try {
            node = JSON.readTree(line);
        } catch (JacksonException ex) {
            return "not a JSON object (damaged or not an audit line)";
        }
        if (node == null || !node.isObject()) {
            return "not a JSON object (damaged or not an audit line)";
        }
        JsonNode type = node.get("type");
        if (type == null || !type.isString()) {
            return "no \"type\" field";
        }
        Instant time = null;
        JsonNode timeNode = node.get("time");
        if (timeNode != null && timeNode.isString()) {
            try {
                time = Instant.parse(timeNode.asString());
            } catch (DateTimeParseException ex) {
                return "\"time\" is not an ISO-8601 instant";
            }
        }
        if (time != null) {
            earliest = earliest == null || time.isBefore(earliest) ? time : earliest;
        }
        if (time != null && (cutoff == null || !time.isBefore(cutoff))) {
            first = first == null || time.isBefore(first) ? time : first;
            last = last == null || time.isAfter(last) ? time : last;
        }
        if (!"access".equals(type.asString())) {
            return null; // policy-reload, rotation, alert, lifecycle, anchor: not requests
        }
        if (time == null) {
            return "access record without a \"time\"";
        }
        JsonNode decision = node.get("decision");
        if (decision == null || !decision.isString()) {
            return "access record without a \"decision\"";
        }
        if (cutoff != null && time.isBefore(cutoff)) {
            return null;
        }
        accessRecords++;
        if (!"allow".equals(decision.asString())) {
            return null;
        }
        allowed++;
        JsonNode identity = node.get("identity");
        JsonNode secret = node.get("secret");
        JsonNode stages = node.get("stages");
        if (identity == null || !identity.isString() || identity.asString().isEmpty()) {
            return "allowed access record without an \"identity\"";
        }
        if (secret == null || !secret.isString()) {
            return "allowed access record without a \"secret\"";
        }
        if (stages == null || !stages.isArray()) {
            return "allowed access record without a \"stages\" list";
        }
        SecretName name;
        try {
            name = SecretName.parse(secret.asString());
        } catch (InvalidSecretNameException ex) {
            return "\"secret\" is not a valid secret name";
        }
        WorkloadIdentity caller = callerOf(identity.asString());
        for (JsonNode stage : stages) {
            try {
                accesses.add(new Access(caller, name, Stage.parse(stage.isString() ? stage.asString() : "")));
            } catch (IllegalArgumentException ex) {
                return "\"stages\" holds something other than current or previous";
            }
        }
        return null;
    }

    /** Audit records carry the identity as text: a SPIFFE ID, or a subject CN (possibly written cn:NAME). */
    private static WorkloadIdentity callerOf(String raw) {
        if (raw.startsWith("spiffe://")) {
            return WorkloadIdentity.spiffe(raw);
        }
        String cn = raw.startsWith("cn:") ? raw.substring(3) : raw;
        return new WorkloadIdentity(cn, WorkloadIdentity.Source.SUBJECT_CN);
    }

    /** Whether an allowed access that was read exercised {@code grant}. */
    public boolean exercised(Grant grant) {
        for (Access access : accesses) {
            if (grant.covers(access.identity(), access.secret(), access.stage())) {
                return true;
            }
        }
        return false;
    }
}
