package io.keybroker.policy.review;

import io.keybroker.identity.WorkloadIdentity;
import io.keybroker.policy.PolicyDecision;
import io.keybroker.policy.IdentityPattern;
import io.keybroker.policy.PolicySet;
import io.keybroker.policy.WorkloadPolicy;
import io.keybroker.secret.InvalidSecretNameException;
import io.keybroker.secret.SecretName;
import io.keybroker.secret.Stage;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;
import tools.jackson.core.JacksonException;
import tools.jackson.core.StreamReadFeature;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.exc.MismatchedInputException;
import tools.jackson.databind.exc.UnrecognizedPropertyException;
import tools.jackson.dataformat.yaml.YAMLMapper;

/**
 * One file of policy tests, {@code apiVersion: keybroker/v1}, {@code kind: PolicyTest}: the security team's
 * assertions about a policy, run by {@code keybroker policy test}. Each test is either an expectation for one
 * caller ({@code identity}, {@code secret}, optional {@code stage}, {@code expect: allow|deny}) or a statement about
 * a secret ({@code secret}, optional {@code stage}, {@code readableOnlyBy: [identity patterns]}). Every decision is
 * {@link PolicySet#decide}, the server's own, so a passing test is what the broker does.
 *
 * <p>Stages: {@code expect: allow} without a stage checks {@code current}; {@code expect: deny} without a stage
 * checks both (the caller may read nothing of the secret); {@code readableOnlyBy} without a stage covers both.
 *
 * @param file the file name, for messages
 * @param tests the tests, in file order
 */
public record PolicyTestSuite(String file, List<Test> tests) {

    /** The {@code apiVersion} of a test file. */
    public static final String API_VERSION = "keybroker/v1";
    /** The {@code kind} of a test file. */
    public static final String KIND = "PolicyTest";

    private static final YAMLMapper YAML = YAMLMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();

    public PolicyTestSuite {
        tests = List.copyOf(tests);
    }

    /**
     * One test.
     *
     * @param id {@code tests[i]}, followed by the test's {@code name} when it has one
     * @param secret the secret
     * @param stages the stages checked
     * @param identity the caller, for an expectation; empty for {@code readableOnlyBy}
     * @param expectAllow for an expectation, whether it expects allow
     * @param readableOnlyBy for a {@code readableOnlyBy} test, the identity patterns that may read the secret
     */
    public record Test(String id, SecretName secret, List<Stage> stages, Optional<WorkloadIdentity> identity,
            boolean expectAllow, List<IdentityPattern> readableOnlyBy) {

        public Test {
            stages = List.copyOf(stages);
            readableOnlyBy = List.copyOf(readableOnlyBy);
        }
    }

    /**
     * The outcome of one test.
     *
     * @param file the test file
     * @param test the test
     * @param passed whether it passed
     * @param message what was checked and, for a failure, what the policy decided and by which rule
     */
    public record Result(String file, Test test, boolean passed, String message) {
    }

    /** A test file that cannot be run, with every problem found (for type errors, the first). */
    public static final class InvalidTestFileException extends RuntimeException {

        private final List<String> problems;

        InvalidTestFileException(List<String> problems) {
            super(String.join("; ", problems), null, false, false);
            this.problems = List.copyOf(problems);
        }

        /** Each problem as {@code FILE[:LINE]: FIELD: problem}. */
        public List<String> problems() {
            return problems;
        }
    }

    /** The file as written; bound by Jackson, then checked field by field. */
    private record FileModel(String apiVersion, String kind, List<CaseModel> tests) {
    }

    private record CaseModel(String name, String identity, String secret, String stage, String expect,
            List<String> readableOnlyBy) {
    }

    /**
     * Reads a test file.
     * @throws InvalidTestFileException saying which field is wrong and what to write
     */
    public static PolicyTestSuite parse(String file, byte[] content) {
        Objects.requireNonNull(file, "file must not be null");
        FileModel model;
        try {
            model = YAML.readValue(content, FileModel.class);
        } catch (UnrecognizedPropertyException ex) {
            throw invalid(file, ex, "unknown key '" + ex.getPropertyName() + "'; allowed keys here: "
                    + ex.getKnownPropertyIds().stream().map(Object::toString).sorted()
                    .collect(Collectors.joining(", ")));
        } catch (MismatchedInputException ex) {
            String expected = List.class.isAssignableFrom(ex.getTargetType() == null ? Object.class
                    : ex.getTargetType()) ? "a list" : String.class.equals(ex.getTargetType()) ? "text" : "a mapping";
            throw invalid(file, ex, "expected " + expected + " here");
        } catch (JacksonException ex) {
            throw invalid(file, ex, "not valid YAML (" + ex.getOriginalMessage().lines().findFirst().orElse("")
                    + "); fix the YAML");
        }
        List<String> problems = new ArrayList<>();
        if (model == null) {
            throw new InvalidTestFileException(List.of(file + ": the file is empty; write apiVersion: " + API_VERSION
                    + ", kind: " + KIND + " and tests: [...]"));
        }
        if (!API_VERSION.equals(model.apiVersion())) {
            problems.add(file + ": apiVersion: " + (model.apiVersion() == null ? "missing" : "unsupported '"
                    + SecretName.printable(model.apiVersion()) + "'") + "; write apiVersion: " + API_VERSION);
        }
        if (!KIND.equals(model.kind())) {
            problems.add(file + ": kind: " + (model.kind() == null ? "missing" : "unsupported '"
                    + SecretName.printable(model.kind()) + "'") + "; write kind: " + KIND);
        }
        if (model.tests() == null || model.tests().isEmpty()) {
            problems.add(file + ": tests: " + (model.tests() == null ? "missing" : "empty") + "; write at least one "
                    + "test, e.g. tests: [{identity: spiffe://cluster.local/ns/payments/sa/checkout, secret: "
                    + "stripe/secret-key, expect: allow}]");
        }
        List<Test> tests = new ArrayList<>();
        List<CaseModel> cases = model.tests() == null ? List.of() : model.tests();
        for (int i = 0; i < cases.size(); i++) {
            Test test = test(file, i, cases.get(i), problems);
            if (test != null) {
                tests.add(test);
            }
        }
        if (!problems.isEmpty()) {
            throw new InvalidTestFileException(problems);
        }
        return new PolicyTestSuite(file, tests);
    }

    private static @Nullable Test test(String file, int index, CaseModel model, List<String> problems) {
        String at = file + ": tests[" + index + "]";
        if (model == null) {
            problems.add(at + ": empty; write a mapping with secret and either identity and expect, or "
                    + "readableOnlyBy");
            return null;
        }
        String id = "tests[" + index + "]" + (model.name() == null ? "" : " " + SecretName.printable(model.name()));
        int before = problems.size();
        SecretName secret = null;
        if (model.secret() == null) {
            problems.add(at + ".secret: missing; name the secret, e.g. secret: stripe/secret-key");
        } else {
            try {
                secret = SecretName.parse(model.secret());
            } catch (InvalidSecretNameException ex) {
                problems.add(at + ".secret: " + ex.getMessage());
            }
        }
        Stage stage = null;
        if (model.stage() != null) {
            try {
                stage = Stage.parse(model.stage());
            } catch (IllegalArgumentException ex) {
                problems.add(at + ".stage: " + ex.getMessage());
            }
        }
        if (model.readableOnlyBy() != null) {
            if (model.identity() != null || model.expect() != null) {
                problems.add(at + ": a test has either identity and expect, or readableOnlyBy, not both; split it "
                        + "into two tests");
                return null;
            }
            List<IdentityPattern> patterns = new ArrayList<>();
            for (int k = 0; k < model.readableOnlyBy().size(); k++) {
                try {
                    patterns.add(IdentityPattern.parse(String.valueOf(model.readableOnlyBy().get(k))));
                } catch (IllegalArgumentException ex) {
                    problems.add(at + ".readableOnlyBy[" + k + "]: " + ex.getMessage());
                }
            }
            return problems.size() > before ? null : new Test(id, secret, stage == null
                    ? List.of(Stage.values()) : List.of(stage), Optional.empty(), false, patterns);
        }
        WorkloadIdentity identity = null;
        if (model.identity() == null) {
            problems.add(at + ": missing identity (the caller, with expect: allow or deny) or readableOnlyBy (who "
                    + "may read the secret at all)");
        } else {
            try {
                identity = WorkloadIdentity.parse(model.identity());
            } catch (IllegalArgumentException ex) {
                problems.add(at + ".identity: " + ex.getMessage());
            }
        }
        boolean allow = "allow".equals(model.expect());
        if (!allow && !"deny".equals(model.expect())) {
            problems.add(at + ".expect: " + (model.expect() == null ? "missing" : "unknown value '"
                    + SecretName.printable(model.expect()) + "'") + "; write expect: allow or expect: deny");
        }
        if (problems.size() > before) {
            return null;
        }
        List<Stage> stages = stage != null ? List.of(stage) : allow ? List.of(Stage.CURRENT)
                : List.of(Stage.values());
        return new Test(id, secret, stages, Optional.of(identity), allow, List.of());
    }

    private static InvalidTestFileException invalid(String file, JacksonException ex, String problem) {
        StringBuilder path = new StringBuilder();
        for (JacksonException.Reference reference : ex.getPath()) {
            if (reference.getPropertyName() != null) {
                path.append(path.isEmpty() ? "" : ".").append(SecretName.printable(reference.getPropertyName()));
            } else if (reference.getIndex() >= 0) {
                path.append('[').append(reference.getIndex()).append(']');
            }
        }
        int line = ex.getLocation() == null ? 0 : ex.getLocation().getLineNr();
        return new InvalidTestFileException(List.of(file + (line > 0 ? ":" + line : "") + ": "
                + (path.isEmpty() ? "" : path + ": ") + problem));
    }

    /** Runs every test against {@code policy}. */
    public List<Result> run(PolicySet policy) {
        Objects.requireNonNull(policy, "policy must not be null");
        List<Result> results = new ArrayList<>();
        for (Test test : tests) {
            results.add(test.identity().isPresent() ? expectation(policy, test) : readableOnlyBy(policy, test));
        }
        return results;
    }

    private Result expectation(PolicySet policy, Test test) {
        WorkloadIdentity caller = test.identity().orElseThrow();
        String what = caller.text() + (test.expectAllow() ? " may read " : " must not read ") + test.secret().value()
                + " (stage " + test.stages().stream().map(Stage::id).collect(Collectors.joining(", ")) + ")";
        List<String> wrong = new ArrayList<>();
        List<String> rules = new ArrayList<>();
        for (Stage stage : test.stages()) {
            PolicyDecision decision = policy.decide(caller, test.secret(), stage);
            if (decision.allowed() != test.expectAllow()) {
                wrong.add("stage " + stage.id() + " is " + (decision.allowed() ? "ALLOWED" : "DENIED") + " by "
                        + decision.rule() + ": " + decision.reason());
            } else {
                rules.add(decision.rule());
            }
        }
        if (wrong.isEmpty()) {
            return new Result(file, test, true, what + ": " + String.join(", ", new LinkedHashSet<>(rules)));
        }
        return new Result(file, test, false, what + ", but " + String.join("; ", wrong));
    }

    private Result readableOnlyBy(PolicySet policy, Test test) {
        Set<IdentityPattern> identities = new LinkedHashSet<>();
        policy.workloads().stream().map(WorkloadPolicy::identity).forEach(identities::add);
        String what = test.secret().value() + " is readable only by " + test.readableOnlyBy().stream()
                .map(IdentityPattern::text).collect(Collectors.joining(", ", "[", "]")) + " (stage "
                + test.stages().stream().map(Stage::id).collect(Collectors.joining(", ")) + ")";
        List<String> others = new ArrayList<>();
        for (IdentityPattern identity : identities) {
            if (test.readableOnlyBy().stream().anyMatch(listed -> listed.includes(identity))) {
                continue;
            }
            WorkloadIdentity caller = identity.representative(identities);
            for (Stage stage : test.stages()) {
                PolicyDecision decision = policy.decide(caller, test.secret(), stage);
                if (decision.allowed()) {
                    others.add((caller.text().equals(identity.text()) ? identity.text() : identity.text()
                            + " (every workload under it, e.g. " + caller.text() + ")") + " may read stage "
                            + stage.id() + ", ALLOWED by " + decision.rule());
                }
            }
        }
        if (others.isEmpty()) {
            return new Result(file, test, true, what);
        }
        return new Result(file, test, false, what + ", but " + String.join("; ", others));
    }
}
