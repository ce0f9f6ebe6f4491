package io.keybroker.cli.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.Yaml;

/**
 * Runs the examples of docs/policy.md (policy test, policy diff) and docs/policy-review.md (the CI shell line and
 * the GitHub Actions step) as written: with bash, in a real git repository holding the docs' own example policy
 * and tests, with {@code keybroker} on the PATH as the docs assume (here a script that starts the broker's main
 * class on the test classpath). Transcripts ({@code $ command} then its output) must match line for line.
 */
class PolicyReviewDocsIntegrationTests {

    private static final Path POLICY_DOC = Path.of("..", "docs", "policy.md");
    private static final Path REVIEW_DOC = Path.of("..", "docs", "policy-review.md");

    @TempDir
    Path tmp;

    private Path bin;
    private GitRepository origin;

    private record Run(int status, String out, String err) {
    }

    @BeforeEach
    void createRepositoryAndKeybrokerCommand() throws IOException {
        bin = Files.createDirectories(tmp.resolve("bin"));
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Files.writeString(bin.resolve("keybroker"), "#!/bin/sh\nexec '" + java + "' -cp '"
                + System.getProperty("java.class.path") + "' io.keybroker.Keybroker \"$@\"\n");
        assertThat(bin.resolve("keybroker").toFile().setExecutable(true)).isTrue();

        String doc = Files.readString(POLICY_DOC);
        List<String> yaml = blocks(doc, "yaml");
        List<String> policies = yaml.stream().filter(b -> b.contains("\nkind: Policy\n")).toList();
        String tests = yaml.stream().filter(b -> b.contains("\nkind: PolicyTest\n")).findFirst().orElseThrow();
        origin = GitRepository.init(tmp.resolve("origin"))
                .write("policy/payments.yaml", policies.get(0))
                .write("policy/reporting.yaml", policies.get(1))
                .write("policy-tests/payments-test.yaml", tests)
                .commit("the example policy of docs/policy.md");
    }

    @Test
    void shouldPrintWhatPolicyMdShowsForTestAndDiff() throws IOException {
        String doc = Files.readString(POLICY_DOC);
        String part = doc.substring(doc.indexOf("## `policy test`"), doc.indexOf("## Exit codes"));
        Matcher blocks = Pattern.compile("```(\\w*)\\n(.*?)```", Pattern.DOTALL).matcher(part);
        int transcripts = 0;
        while (blocks.find()) {
            String body = blocks.group(2);
            if (blocks.group(1).equals("diff")) {
                Path patch = tmp.resolve("change.patch");
                Files.writeString(patch, body);
                origin.git("apply", patch.toString());
            } else if (blocks.group(1).isEmpty() && body.startsWith("$ ")) {
                replay(origin.dir(), body);
                transcripts++;
            }
        }
        assertThat(transcripts).isEqualTo(3);
    }

    @Test
    void shouldPassTheShellLineOfPolicyReviewMdAndWriteTheGrantDiff() throws IOException {
        Path clone = pullRequest();
        String line = blocks(Files.readString(REVIEW_DOC), "sh").get(0).strip();

        Run run = bash(clone, line, Map.of());
        assertThat(run.status()).as(run.err()).isZero();
        assertThat(Files.readString(clone.resolve("grant-diff.txt")))
                .startsWith("policy diff: origin/main:policy/ -> policy/\n")
                .contains("WIDENING: rate limit raised\n");

        Path reporting = clone.resolve("policy/reporting.yaml");
        Files.writeString(reporting, Files.readString(reporting).replace("[stripe/restricted/**]",
                "[stripe/restricted/**, stripe/secret-key]"));
        Run broken = bash(clone, line, Map.of());
        assertThat(broken.status()).isNotZero();
        assertThat(broken.out()).contains("FAIL policy-tests/payments-test.yaml tests[2]");
    }

    @Test
    void shouldRunTheGithubActionsStepAndFailItWhenAPromiseBreaks() throws IOException {
        Path clone = pullRequest();
        String step = githubStep("Check, diff and test");

        Run passing = bash(clone, step, Map.of("TARGET", "main"));
        assertThat(passing.status()).as(passing.err()).isZero();
        assertThat(passing.out()).contains("RESULT: grants changed: 0 added, 0 removed, 1 rate limit(s) changed",
                "RESULT: 3 passed, 0 failed");

        // The reporting change of docs/policy.md's diff example gives the daily report the live key: a promise
        // breaks, and the grant diff to post is there all the same.
        Path reporting = clone.resolve("policy/reporting.yaml");
        Files.writeString(reporting, Files.readString(reporting).replace("[stripe/restricted/**]",
                "[stripe/restricted/**, stripe/secret-key]"));
        Run failing = bash(clone, step, Map.of("TARGET", "main"));
        assertThat(failing.status()).isEqualTo(1);
        assertThat(failing.out()).contains("FAIL policy-tests/payments-test.yaml tests[1] reporting never reads the "
                + "live key");
        assertThat(Files.readString(clone.resolve("grant-diff.txt")))
                .contains("  + spiffe://cluster.local/ns/reporting/sa/daily  stripe/secret-key  current");
    }

    /** A clone of the repository (so origin/main exists) with a change: checkout's rate limit raised. */
    private Path pullRequest() throws IOException {
        Path clone = tmp.resolve("clone");
        origin.git("clone", "-q", origin.dir().toString(), clone.toString());
        Path payments = clone.resolve("policy/payments.yaml");
        Files.writeString(payments, Files.readString(payments).replace("rateLimit: 100/s", "rateLimit: 1000/s"));
        return clone;
    }

    /** The {@code run} script of a step of the docs' workflow, read with a YAML parser. */
    @SuppressWarnings("unchecked")
    private static String githubStep(String name) throws IOException {
        String workflow = blocks(Files.readString(REVIEW_DOC), "yaml").get(0);
        Map<String, Object> root = new Yaml().load(workflow);
        Map<String, Object> jobs = (Map<String, Object>) root.get("jobs");
        List<Map<String, Object>> steps = (List<Map<String, Object>>) ((Map<String, Object>) jobs.get("review"))
                .get("steps");
        return steps.stream().filter(step -> name.equals(step.get("name"))).map(step -> (String) step.get("run"))
                .findFirst().orElseThrow(() -> new AssertionError("no step '" + name + "' in policy-review.md"));
    }

    /** Runs each {@code $ command} of a transcript and compares its output with the lines after it. */
    private void replay(Path dir, String transcript) throws IOException {
        List<String> lines = transcript.lines().toList();
        int status = 0;
        for (int i = 0; i < lines.size(); i++) {
            String command = lines.get(i).substring(2);
            List<String> expected = new ArrayList<>();
            while (i + 1 < lines.size() && !lines.get(i + 1).startsWith("$ ")) {
                expected.add(lines.get(++i));
            }
            if (command.equals("echo $?")) {
                assertThat(expected).as("after %s", transcript).containsExactly(String.valueOf(status));
                continue;
            }
            Run run = bash(dir, command, Map.of());
            assertThat(run.out().lines()).as("%s%n(stderr: %s)", command, run.err()).containsExactlyElementsOf(expected);
            status = run.status();
        }
    }

    private Run bash(Path dir, String script, Map<String, String> env) throws IOException {
        ProcessBuilder builder = new ProcessBuilder("bash", "-e", "-c", script).directory(dir.toFile());
        builder.environment().put("PATH", bin + ":" + System.getenv("PATH"));
        builder.environment().putAll(env);
        Path err = Files.createTempFile(tmp, "stderr", ".txt");
        builder.redirectError(err.toFile());
        Process process = builder.start();
        process.getOutputStream().close();
        try {
            String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            int status = process.waitFor();
            return new Run(status, out, Files.readString(err));
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(ex);
        }
    }

    private static List<String> blocks(String markdown, String language) {
        List<String> blocks = new ArrayList<>();
        Matcher m = Pattern.compile("```" + language + "\\n(.*?)```", Pattern.DOTALL).matcher(markdown);
        while (m.find()) {
            blocks.add(m.group(1));
        }
        return blocks;
    }
}
