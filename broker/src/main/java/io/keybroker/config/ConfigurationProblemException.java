package io.keybroker.config;

import java.util.List;

/**
 * The broker's configuration cannot work. Start-up stops and {@link ConfigurationProblemFailureAnalyzer} prints
 * every problem, each naming the property to set or fix, without a stack trace.
 */
public class ConfigurationProblemException extends RuntimeException {

    private final List<String> problems;

    public ConfigurationProblemException(List<String> problems) {
        super("invalid Keybroker configuration:\n  - " + String.join("\n  - ", problems));
        this.problems = List.copyOf(problems);
    }

    public ConfigurationProblemException(String problem) {
        this(List.of(problem));
    }

    public List<String> problems() {
        return problems;
    }
}
