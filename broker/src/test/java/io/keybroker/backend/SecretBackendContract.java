package io.keybroker.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keybroker.secret.SecretValue;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.TestInstance;

/**
 * What every {@link SecretBackend} promises, run against each real store: the file backend, a real OpenBao and a
 * real moto. A new backend is done when a subclass of this suite passes for it.
 *
 * <p>Subclasses seed the store through its own tools (a YAML file, OpenBao's HTTP API, the AWS SDK), never through
 * the backend under test, so that the suite checks the backend against the store and not against itself.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class SecretBackendContract {

    protected static final Duration WAIT = Duration.ofSeconds(60);

    private String prefix;
    private BackendKind.Opened opened;

    /** Starts the store if the test runs one, and opens the backend under test on it. */
    protected abstract BackendKind.Opened open();

    /** Stops what {@link #open} started, after the backend was closed. */
    protected abstract void stopStore();

    @BeforeAll
    void openBackend() {
        opened = open();
    }

    @AfterAll
    void closeBackend() {
        try {
            if (opened != null) {
                opened.close();
            }
        } finally {
            stopStore();
        }
    }

    /** The backend under test, connected to the running store. */
    protected SecretBackend backend() {
        return opened.backend();
    }

    /** Stores a new version holding {@code value} as the backend reads it without a field; it becomes current. */
    protected abstract void putValue(String path, String value);

    /** Stores a new version that is a JSON object (Vault: KV data) of these string fields; it becomes current. */
    protected abstract void putFields(String path, Map<String, String> fields);

    /**
     * A backend of the same kind whose store cannot be reached (closed port, missing file), with what to release
     * after it.
     */
    protected abstract BackendKind.Opened unreachableBackend();

    /**
     * Whether the backend takes writes. One that does not must refuse {@link SecretBackend#stage} with
     * {@link WriteRefusedException} saying what to do instead; the write tests check exactly that for it.
     */
    protected abstract boolean takesWrites();

    @BeforeEach
    void pathPrefix(TestInfo test) {
        // One subtree per test: the store is shared by the whole class.
        prefix = "prod/" + test.getTestMethod().orElseThrow().getName().toLowerCase().replaceAll("[^a-z0-9]", "-");
    }

    private BackendLocation location(String path) {
        return new BackendLocation(backend().id(), path, null);
    }

    private static String text(BackendVersion version) {
        return new String(version.value().bytes(), StandardCharsets.UTF_8);
    }

    private BackendSecret read(String path) {
        return backend().read(location(path)).block(WAIT);
    }

    @Test
    void shouldReadTheCurrentAndThePreviousVersionWithAMarkerThatMovesOnlyWithThem() {
        String path = prefix + "/stripe/secret-key";
        putValue(path, "sk_test_contractOld");
        putValue(path, "sk_test_contractNew");

        BackendSecret secret = read(path);

        assertThat(text(secret.current())).isEqualTo("sk_test_contractNew");
        assertThat(text(secret.previous())).isEqualTo("sk_test_contractOld");
        assertThat(secret.current().version()).isNotEqualTo(secret.previous().version());
        assertThat(secret.current().createdAt()).isAfterOrEqualTo(secret.previous().createdAt());
        assertThat(backend().marker(location(path)).block(WAIT)).isEqualTo(secret.marker());

        putValue(path, "sk_test_contractNewest");
        BackendSecret rotated = read(path);
        assertThat(backend().marker(location(path)).block(WAIT)).isNotEqualTo(secret.marker())
                .isEqualTo(rotated.marker());
        assertThat(text(rotated.previous())).isEqualTo("sk_test_contractNew");
    }

    @Test
    void shouldServeNoPreviousVersionWhenThereIsOnlyOne() {
        String path = prefix + "/only";
        putValue(path, "only-version");

        BackendSecret secret = read(path);

        assertThat(text(secret.current())).isEqualTo("only-version");
        assertThat(secret.previous()).isNull();
    }

    @Test
    void shouldAnswerEmptyForASecretThatDoesNotExist() {
        putValue(prefix + "/exists", "x");

        assertThat(backend().read(location(prefix + "/missing")).blockOptional(WAIT)).isEmpty();
        assertThat(backend().marker(location(prefix + "/missing")).blockOptional(WAIT)).isEmpty();
    }

    @Test
    void shouldSelectAFieldAndRefuseAMissingOneAsAFormatErrorWithoutQuotingTheValue() {
        String path = prefix + "/webhook";
        putFields(path, Map.of("secret", "whsec_contractValue", "url", "https://example.test/hook"));

        BackendSecret secret = backend().read(new BackendLocation(backend().id(), path, "secret")).block(WAIT);
        assertThat(text(secret.current())).isEqualTo("whsec_contractValue");

        assertThatThrownBy(() -> backend().read(new BackendLocation(backend().id(), path, "missing")).block(WAIT))
                .isInstanceOf(SecretFormatException.class)
                .hasMessageContaining("missing")
                .hasMessageNotContaining("whsec_contractValue");
    }

    @Test
    void shouldReportAnUnreachableStoreAsUnavailableNamingWhatToCheck() {
        try (BackendKind.Opened unreachable = unreachableBackend()) {
            // The message names the property that points at the store.
            assertThatThrownBy(() -> unreachable.backend().read(location(prefix + "/key")).block(WAIT))
                    .isInstanceOf(BackendUnavailableException.class)
                    .hasMessageMatching("(?s).*(keybroker\\.[a-z-]+\\.[a-z-]+|spring\\.cloud\\.vault\\.[a-z-]+).*");
            assertThatThrownBy(() -> unreachable.backend().list("prod/").block(WAIT))
                    .isInstanceOf(BackendUnavailableException.class);
        }
    }

    @Test
    void shouldListThePathsUnderAPrefixRecursivelyAndSorted() {
        putValue(prefix + "/b/nested/deep", "x");
        putValue(prefix + "/a", "x");
        putValue(prefix + "-sibling/c", "x");

        assertThat(backend().list(prefix + "/").block(WAIT))
                .containsExactly(prefix + "/a", prefix + "/b/nested/deep");
        assertThat(backend().list(prefix + "/nothing-here/").block(WAIT)).isEmpty();
    }

    @Test
    void shouldServeAStagedVersionOnlyOncePromotedAndKeepTheOldOneAsPrevious() {
        String path = prefix + "/stripe/secret-key";
        putValue(path, "sk_test_beforeRotation");
        try (SecretValue next = value("sk_test_afterRotation")) {
            if (!takesWrites()) {
                assertWritesRefused(path, next);
                return;
            }
            StagedVersion staged = backend().stage(location(path), next, WriteRequest.any()).block(WAIT);

            assertThat(text(read(path).current())).as("staged, not served").isEqualTo("sk_test_beforeRotation");
            assertThat(staged.description()).doesNotContain("sk_test_afterRotation");

            PromotedVersion promoted = backend().promote(staged, next).block(WAIT);
            BackendSecret after = read(path);
            assertThat(text(after.current())).isEqualTo("sk_test_afterRotation");
            assertThat(after.current().version()).isEqualTo(promoted.version());
            assertThat(text(after.previous())).isEqualTo("sk_test_beforeRotation");
            assertThat(promoted.description()).doesNotContain("sk_test_afterRotation");
        }
    }

    @Test
    void shouldLeaveTheCurrentVersionAloneWhenAStagedVersionIsDiscarded() {
        String path = prefix + "/stripe/secret-key";
        putValue(path, "sk_test_keptOld");
        putValue(path, "sk_test_kept");
        try (SecretValue refused = value("sk_test_refusedByStripe")) {
            if (!takesWrites()) {
                assertWritesRefused(path, refused);
                return;
            }
            BackendSecret before = read(path);
            StagedVersion staged = backend().stage(location(path), refused, WriteRequest.any()).block(WAIT);

            backend().discard(staged).block(WAIT);

            BackendSecret after = read(path);
            assertThat(text(after.current())).isEqualTo("sk_test_kept");
            assertThat(text(after.previous())).isEqualTo("sk_test_keptOld");
            assertThat(after.marker()).isEqualTo(before.marker());
        }
    }

    @Test
    void shouldRefuseToPromoteOverAVersionWrittenSinceStaging() {
        String path = prefix + "/stripe/secret-key";
        putValue(path, "sk_test_raceBase");
        try (SecretValue late = value("sk_test_raceLoser")) {
            if (!takesWrites()) {
                assertWritesRefused(path, late);
                return;
            }
            StagedVersion staged = backend().stage(location(path), late, WriteRequest.any()).block(WAIT);
            putValue(path, "sk_test_raceWinner");

            assertThatThrownBy(() -> backend().promote(staged, late).block(WAIT))
                    .isInstanceOf(WriteConflictException.class)
                    .hasMessageNotContaining("sk_test_raceLoser");
            assertThat(text(read(path).current())).isEqualTo("sk_test_raceWinner");
        }
    }

    private void assertWritesRefused(String path, SecretValue value) {
        assertThatThrownBy(() -> backend().stage(location(path), value, WriteRequest.any()).block(WAIT))
                .isInstanceOf(WriteRefusedException.class)
                .hasMessageContaining("instead");
    }

    private static SecretValue value(String text) {
        return SecretValue.adopt(text.getBytes(StandardCharsets.UTF_8));
    }
}
