package io.keybroker.config;

import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

/** Turns a {@link ConfigurationProblemException} into a start-up report that lists what to fix. */
public class ConfigurationProblemFailureAnalyzer extends AbstractFailureAnalyzer<ConfigurationProblemException> {

    @Override
    protected FailureAnalysis analyze(Throwable rootFailure, ConfigurationProblemException cause) {
        return new FailureAnalysis("Keybroker cannot start:\n  - " + String.join("\n  - ", cause.problems()),
                "Fix the properties named above (as --name=value arguments, KEYBROKER_* environment variables or "
                        + "a configuration file); docs/configuration.md lists them all.", cause);
    }
}
