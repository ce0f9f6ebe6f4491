package io.keybroker.cli.policy;

import io.keybroker.cli.CliContext;
import io.keybroker.policy.PolicySet;
import io.keybroker.policy.review.PolicyTestSuite;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code keybroker policy test DIR TESTS}. */
@Command(name = "test", mixinStandardHelpOptions = true,
        description = {"Run the security team's assertions about a policy: a caller may or may not read a secret, "
                + "or a secret is readable only by the identities listed (docs/policy.md#policy-test).",
            "TESTS is a file (apiVersion: keybroker/v1, kind: PolicyTest) or a directory of *.yaml / *.yml files. "
                + "Each failure names the rule that decided. Exit 0 when every test passes, 1 when one fails, 2 on "
                + "an error (invalid policy or test file, usage)."})
final class TestCommand implements Callable<Integer> {

    /** Exit status: every test passed. */
    static final int PASSED = 0;
    /** Exit status: at least one test failed. */
    static final int FAILED = 1;
    /** Exit status: the tests could not be run. */
    static final int ERROR = 2;

    private final CliContext context;

    @Parameters(index = "0", paramLabel = "DIR", description = "The policy directory.")
    Path dir;

    @Parameters(index = "1", paramLabel = "TESTS", description = "A test file, or a directory of test files.")
    Path tests;

    TestCommand(CliContext context) {
        this.context = context;
    }

    @Override
    public Integer call() {
        PrintWriter out = context.out();
        PrintWriter err = context.err();
        List<Path> files = testFiles(err);
        if (files == null) {
            return ERROR;
        }
        List<PolicyTestSuite> suites = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        for (Path file : files) {
            try {
                suites.add(PolicyTestSuite.parse(file.toString(), Files.readAllBytes(file)));
            } catch (PolicyTestSuite.InvalidTestFileException ex) {
                problems.addAll(ex.problems());
            } catch (IOException ex) {
                problems.add(file + ": cannot be read (" + ex.getClass().getSimpleName() + "); check the path and "
                        + "permissions");
            }
        }
        if (!problems.isEmpty()) {
            err.println("error: invalid test file(s); fix these problems (the format is in docs/policy.md):");
            problems.forEach(problem -> err.println("  " + problem));
            return ERROR;
        }
        PolicySet policy = PolicyInputs.loadOrReport(err, dir, dir.toString());
        if (policy == null) {
            return ERROR;
        }
        int passed = 0;
        int failed = 0;
        for (PolicyTestSuite suite : suites) {
            for (PolicyTestSuite.Result result : suite.run(policy)) {
                out.println((result.passed() ? "PASS " : "FAIL ") + result.file() + " " + result.test().id() + ": "
                        + result.message());
                if (result.passed()) {
                    passed++;
                } else {
                    failed++;
                }
            }
        }
        out.println("RESULT: " + passed + " passed, " + failed + " failed (" + files.size() + " test file(s), "
                + "policy directory " + dir + ")");
        return failed == 0 ? PASSED : FAILED;
    }

    /** The file itself, or the *.yaml / *.yml files directly in the directory, in name order; null on a problem. */
    private @Nullable List<Path> testFiles(PrintWriter err) {
        if (Files.isRegularFile(tests)) {
            return List.of(tests);
        }
        if (!Files.isDirectory(tests)) {
            err.println("error: " + tests + " does not exist; give a PolicyTest file or a directory of them");
            return null;
        }
        try (Stream<Path> entries = Files.list(tests)) {
            List<Path> files = entries.filter(Files::isRegularFile).filter(p -> {
                String name = p.getFileName().toString();
                return !name.startsWith(".") && (name.endsWith(".yaml") || name.endsWith(".yml"));
            }).sorted().toList();
            if (files.isEmpty()) {
                err.println("error: no test files (*.yaml, *.yml) in " + tests + "; add a file with kind: PolicyTest");
                return null;
            }
            return files;
        } catch (IOException ex) {
            err.println("error: cannot list " + tests + " (" + ex.getClass().getSimpleName() + ")");
            return null;
        }
    }
}
