package io.keybroker.backend.file;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.keybroker.backend.BackendLocation;
import io.keybroker.backend.BackendSecret;
import io.keybroker.backend.BackendUnavailableException;
import io.keybroker.backend.ChangeMarker;
import io.keybroker.backend.SecretFormatException;
import io.keybroker.backend.file.SecretsFileParser.PathInfo;
import io.keybroker.backend.file.SecretsFileParser.VersionInfo;
import io.keybroker.testsupport.PlaintextGraphSearch;
import java.io.IOException;
import java.lang.reflect.RecordComponent;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The file backend against real files in a temporary directory. */
class FileSecretBackendIntegrationTests {

    static final String SPEC_EXAMPLE = """
            secrets:
              prod/stripe/secret-key:
                - version: "1"
                  value: sk_test_old_4eC39HqLyjWDarjtT1zdp7dc
                  createdAt: 2026-08-20T10:00:00Z
                - version: "2"
                  value: sk_test_new_51HxYzAbCdEfGhIjKlMn
                  createdAt: 2026-11-20T10:00:00Z
              prod/stripe/webhook-secret:
                - version: "1"
                  value: '{"secret": "whsec_test_Q2xpZW50U2VjcmV0", "id": 42, "nested": {"secret": "no"}}'
                  createdAt: 2026-11-01T08:30:00+01:00
            """;
    static final String OLD = "sk_test_old_4eC39HqLyjWDarjtT1zdp7dc";
    static final String NEW = "sk_test_new_51HxYzAbCdEfGhIjKlMn";
    static final String WEBHOOK = "whsec_test_Q2xpZW50U2VjcmV0";
    static final BackendLocation KEY = BackendLocation.of("file", "prod/stripe/secret-key");
    static final BackendLocation WEBHOOK_SECRET = new BackendLocation("file", "prod/stripe/webhook-secret", "secret");

    @TempDir
    Path dir;

    private final List<FileSecretBackend> backends = new ArrayList<>();

    @AfterEach
    void close() {
        backends.forEach(FileSecretBackend::close);
    }

    private FileSecretBackend backend(Path file, Duration reloadInterval) {
        FileSecretBackend backend = new FileSecretBackend(file, reloadInterval);
        backends.add(backend);
        return backend;
    }

    private Path file(String content) throws IOException {
        Path file = dir.resolve("secrets.yaml");
        write(file, content);
        return file;
    }

    /** Replaces the file in one step, as an editor or a deployment tool would. */
    static void write(Path file, String content) throws IOException {
        Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp");
        Files.writeString(tmp, content);
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    private static String text(BackendSecret secret, boolean current) {
        byte[] bytes = (current ? secret.current() : secret.previous()).value().bytes();
        return new String(bytes, StandardCharsets.UTF_8);
    }

    @Test
    void shouldReadTheLastVersionAsCurrentAndTheOneBeforeAsPrevious() throws IOException {
        FileSecretBackend backend = backend(file(SPEC_EXAMPLE), Duration.ofSeconds(2));

        BackendSecret secret = backend.read(KEY).block();

        assertThat(secret.current().version()).isEqualTo("2");
        assertThat(secret.current().createdAt()).isEqualTo(Instant.parse("2026-11-20T10:00:00Z"));
        assertThat(text(secret, true)).isEqualTo(NEW);
        assertThat(secret.previous().version()).isEqualTo("1");
        assertThat(secret.previous().createdAt()).isEqualTo(Instant.parse("2026-08-20T10:00:00Z"));
        assertThat(text(secret, false)).isEqualTo(OLD);
        assertThat(secret.marker()).isEqualTo(backend.marker(KEY).block());
        assertThat(secret.marker().value()).doesNotContain(OLD, NEW);
        secret.wipe();
        assertThat(backend.checkHealth().blockOptional()).isEmpty();
    }

    @Test
    void shouldServeOnlyCurrentForASingleVersionAndReadAgainAfterTheCallerWiped() throws IOException {
        FileSecretBackend backend = backend(file("""
                secrets:
                  prod/only:
                    - version: v1
                      value: "sk_test_only"
                      createdAt: 2026-11-20T10:00:00.5Z
                """), Duration.ofSeconds(2));

        BackendSecret first = backend.read(BackendLocation.of("file", "prod/only")).block();
        assertThat(first.previous()).isNull();
        first.wipe();
        BackendSecret second = backend.read(BackendLocation.of("file", "prod/only")).block();

        assertThat(text(second, true)).isEqualTo("sk_test_only");
        assertThat(second.current().createdAt()).isEqualTo(Instant.parse("2026-11-20T10:00:00.5Z"));
    }

    @Test
    void shouldAnswerEmptyForAPathTheFileDoesNotHave() throws IOException {
        FileSecretBackend backend = backend(file(SPEC_EXAMPLE), Duration.ofSeconds(2));
        BackendLocation missing = BackendLocation.of("file", "prod/stripe/missing");

        assertThat(backend.read(missing).blockOptional()).isEmpty();
        assertThat(backend.marker(missing).blockOptional()).isEmpty();
    }

    @Test
    void shouldNoticeAnAppendedVersionWithinFiveSecondsAndReadTheNewPair() throws IOException {
        // The key's list is last in this file, so appending lines to the file appends a version, as
        // docs/file-backend.md tells a developer to do.
        Path file = file("""
                secrets:
                  prod/stripe/webhook-secret:
                    - version: "1"
                      value: whsec_test_Q2xpZW50U2VjcmV0
                      createdAt: 2026-11-01T08:30:00Z
                  prod/stripe/secret-key:
                    - version: "1"
                      value: sk_test_old_4eC39HqLyjWDarjtT1zdp7dc
                      createdAt: 2026-08-20T10:00:00Z
                    - version: "2"
                      value: sk_test_new_51HxYzAbCdEfGhIjKlMn
                      createdAt: 2026-11-20T10:00:00Z
                """);
        FileSecretBackend backend = backend(file, Duration.ofSeconds(2)); // the default reload interval
        backend.start();
        ChangeMarker before = backend.marker(KEY).block();
        ChangeMarker webhookBefore = backend.marker(WEBHOOK_SECRET).block();

        Files.writeString(file, """
                    - version: "3"
                      value: sk_test_newest_9ZyXwVuT
                      createdAt: 2026-11-27T10:00:00Z
                """, StandardOpenOption.APPEND);

        // A reload may catch the file half-written (then the marker fails until the next one): ignore that.
        await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(50)).ignoreExceptions()
                .until(() -> !before.equals(backend.marker(KEY).block()));
        BackendSecret secret = backend.read(KEY).block();
        assertThat(secret.current().version()).isEqualTo("3");
        assertThat(text(secret, true)).isEqualTo("sk_test_newest_9ZyXwVuT");
        assertThat(secret.current().createdAt()).isEqualTo(Instant.parse("2026-11-27T10:00:00Z"));
        assertThat(secret.previous().version()).isEqualTo("2");
        assertThat(text(secret, false)).isEqualTo(NEW);
        assertThat(backend.marker(WEBHOOK_SECRET).block()).isEqualTo(webhookBefore);
    }

    @Test
    void shouldChangeTheMarkerWhenAValueIsEditedInPlace() throws IOException {
        Path file = file(SPEC_EXAMPLE);
        FileSecretBackend backend = backend(file, Duration.ofSeconds(2));
        ChangeMarker before = backend.marker(KEY).block();
        ChangeMarker webhookBefore = backend.marker(WEBHOOK_SECRET).block();

        write(file, SPEC_EXAMPLE.replace(NEW, "sk_test_edited_in_place"));
        backend.reload();

        assertThat(backend.marker(KEY).block()).isNotEqualTo(before);
        assertThat(backend.marker(WEBHOOK_SECRET).block()).isEqualTo(webhookBefore);
    }

    @Test
    void shouldFollowAKubernetesStyleSymlinkSwap() throws IOException {
        Path v1 = Files.createDirectories(dir.resolve("..2026_11_20_v1"));
        Path v2 = Files.createDirectories(dir.resolve("..2026_11_27_v2"));
        Files.writeString(v1.resolve("secrets.yaml"), SPEC_EXAMPLE);
        Files.writeString(v2.resolve("secrets.yaml"), SPEC_EXAMPLE.replace(NEW, "sk_test_from_v2_dir"));
        Path data = dir.resolve("..data");
        Files.createSymbolicLink(data, v1.getFileName());
        Path file = dir.resolve("secrets.yaml");
        Files.createSymbolicLink(file, Path.of("..data/secrets.yaml"));
        FileSecretBackend backend = backend(file, Duration.ofMillis(100));
        backend.start();
        ChangeMarker before = backend.marker(KEY).block();

        Path next = dir.resolve("..data_tmp");
        Files.createSymbolicLink(next, v2.getFileName());
        Files.move(next, data, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);

        await().atMost(Duration.ofSeconds(5)).until(() -> !before.equals(backend.marker(KEY).block()));
        assertThat(text(backend.read(KEY).block(), true)).isEqualTo("sk_test_from_v2_dir");
    }

    // ------------------------------------------------------------------------------------------- fields

    @Test
    void shouldPickAFieldOutOfAJsonValue() throws IOException {
        FileSecretBackend backend = backend(file(SPEC_EXAMPLE), Duration.ofSeconds(2));

        BackendSecret secret = backend.read(WEBHOOK_SECRET).block();
        BackendSecret number = backend.read(new BackendLocation("file", "prod/stripe/webhook-secret", "id")).block();

        assertThat(text(secret, true)).isEqualTo(WEBHOOK);
        assertThat(secret.current().createdAt()).isEqualTo(Instant.parse("2026-11-01T07:30:00Z"));
        assertThat(text(number, true)).isEqualTo("42");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "prod/stripe/webhook-secret | missing | has no field 'missing'",
        "prod/stripe/webhook-secret | nested  | is an object, not a string",
        "prod/stripe/secret-key     | secret  | is not valid JSON",
        "prod/stripe/array          | secret  | is not a JSON object",
    })
    void shouldRefuseAFieldThatCannotBeServedNamingTheLocationAndField(String path, String field, String problem)
            throws IOException {
        FileSecretBackend backend = backend(file(SPEC_EXAMPLE + """
                  prod/stripe/array:
                    - version: "1"
                      value: '["sk_test_in_array"]'
                      createdAt: 2026-11-01T08:30:00Z
                """), Duration.ofSeconds(2));
        BackendLocation location = new BackendLocation("file", path, field);

        assertThatThrownBy(() -> backend.read(location).block())
                .isInstanceOf(SecretFormatException.class)
                .hasMessageContaining(problem)
                .hasMessageContaining(location.toString())
                .hasMessageContaining(field)
                .hasMessageNotContaining(OLD).hasMessageNotContaining(NEW).hasMessageNotContaining(WEBHOOK)
                .hasMessageNotContaining("sk_test_in_array").hasMessageNotContaining("sk_test_");
    }

    // ------------------------------------------------------------------------------------ invalid files

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "'secrets:\n  prod/x:\n    - version: \"1\"\n      value: \"sk_test_unterminated\n' | is not valid YAML",
        "'secrets:\n  prod/x:\n    - version: \"1\"\n      value: sk_test_no_date\n' | has no createdAt",
        "'secrets:\n  prod/x:\n    - version: \"1\"\n      createdAt: 2026-11-20T10:00:00Z\n' | has no value",
        "'secrets:\n  prod/x:\n    - value: sk_test_no_version\n      createdAt: 2026-11-20T10:00:00Z\n' | has no version",
        "'secrets:\n  prod/x:\n    - {version: \"1\", value: sk_test_a, createdAt: 2026-11-20T10:00:00Z}\n    - {version: \"1\", value: sk_test_b, createdAt: 2026-11-21T10:00:00Z}\n' | appears twice",
        "'secrets:\n  prod/x:\n    - version: \"1\"\n      value: sk_test_bad_date\n      createdAt: sk_test_in_date_field\n' | is not a timestamp",
        "'secrets:\n  prod/x: sk_test_not_a_list\n' | must be a non-empty list",
        "'secrets:\n  prod/x:\n    - version: \"1\"\n      value: sk_test_extra\n      createdAt: 2026-11-20T10:00:00Z\n      sk_test_stray_key: 1\n' | has a key other than",
        "'secret:\n  prod/x: []\n' | top-level key other than 'secrets'",
        "'' | is empty",
    })
    void shouldKeepTheLastGoodMetadataAndNameTheFileAndProblemWhenTheFileBecomesInvalid(String broken,
            String problem) throws IOException {
        Path file = file(SPEC_EXAMPLE);
        FileSecretBackend backend = backend(file, Duration.ofSeconds(2));
        Map<String, PathInfo> good = backend.state().paths();
        ChangeMarker marker = backend.marker(KEY).block();

        write(file, broken);
        backend.reload();

        assertThat(backend.state().paths()).isEqualTo(good).containsKey(KEY.path());
        assertThat(backend.state().problem()).contains(file.toString(), problem);
        assertThatThrownBy(() -> backend.marker(KEY).block()).isInstanceOf(BackendUnavailableException.class)
                .hasMessageContaining(problem);
        assertThatThrownBy(() -> backend.read(KEY).block())
                .isInstanceOfSatisfying(BackendUnavailableException.class, ex -> {
                    assertThat(ex.backend()).isEqualTo("file");
                    assertThat(ex.getMessage()).contains(file.toString(), problem, "last good")
                            .doesNotContain("sk_test_");
                    assertThat(ex.getCause()).isNull();
                });
        assertThat(backend.state().paths()).isEqualTo(good);

        write(file, SPEC_EXAMPLE);
        backend.reload();
        assertThat(backend.state().problem()).isNull();
        assertThat(backend.marker(KEY).block()).isEqualTo(marker);
    }

    @Test
    void shouldNameTheLineOfAProblem() throws IOException {
        Path file = file(SPEC_EXAMPLE);
        FileSecretBackend backend = backend(file, Duration.ofSeconds(2));

        write(file, SPEC_EXAMPLE.replace("      createdAt: 2026-11-20T10:00:00Z\n", ""));
        backend.reload();

        assertThat(backend.state().problem()).contains("line 6: secrets.prod/stripe/secret-key[1] has no createdAt");
    }

    @Test
    void shouldFailHealthAndReadsNamingThePropertyWhenTheFileIsMissing() throws IOException {
        Path file = dir.resolve("absent.yaml");
        FileSecretBackend backend = backend(file, Duration.ofSeconds(2));

        assertThatThrownBy(() -> backend.checkHealth().block()).isInstanceOf(BackendUnavailableException.class)
                .hasMessageContaining("keybroker.file.path").hasMessageContaining(file.toString());
        assertThatThrownBy(() -> backend.read(KEY).block()).hasMessageContaining("keybroker.file.path");
        assertThatThrownBy(() -> backend.marker(KEY).block()).hasMessageContaining("does not exist");

        write(file, SPEC_EXAMPLE);
        backend.reload();
        assertThat(backend.checkHealth().blockOptional()).isEmpty();
        assertThat(backend.marker(KEY).blockOptional()).isPresent();
    }

    // ------------------------------------------------------------------------------------------- leaks

    @Test
    void shouldKeepNoValueAfterReading() throws IOException {
        Path file = file(SPEC_EXAMPLE);
        FileSecretBackend backend = backend(file, Duration.ofMillis(100));
        backend.start();
        BackendSecret secret = backend.read(KEY).block();
        BackendSecret webhook = backend.read(WEBHOOK_SECRET).block();
        String digest = backend.state().fileDigest();
        write(file, SPEC_EXAMPLE + "\n");
        await().atMost(Duration.ofSeconds(5)).until(() -> !digest.equals(backend.state().fileDigest()));

        // The search finds values where they are, so its empty answers below mean something.
        assertThat(PlaintextGraphSearch.find(secret, NEW)).isNotEmpty();
        assertThat(PlaintextGraphSearch.find(webhook, WEBHOOK)).isNotEmpty();
        secret.wipe();
        webhook.wipe();
        for (String value : List.of(OLD, NEW, WEBHOOK)) {
            assertThat(PlaintextGraphSearch.find(backend, value)).as(value).isEmpty();
        }
    }

    @Test
    void shouldHoldOnlyMetadataTypesInItsState() {
        // The design, checked: the state is the last good metadata (paths, version ids, times, markers) and two
        // strings (a keyed digest and a problem description); nothing in it can hold a value.
        assertThat(components(FileSecretBackend.State.class)).containsExactly(Map.class, String.class, String.class);
        assertThat(components(PathInfo.class)).containsExactly(List.class, ChangeMarker.class);
        assertThat(components(VersionInfo.class)).containsExactly(String.class, Instant.class);
    }

    private static List<Class<?>> components(Class<? extends Record> type) {
        return java.util.Arrays.stream(type.getRecordComponents()).<Class<?>>map(RecordComponent::getType).toList();
    }
}
