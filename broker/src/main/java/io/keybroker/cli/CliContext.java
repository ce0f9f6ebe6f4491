package io.keybroker.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.util.List;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.env.YamlPropertySourceLoader;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.SimpleCommandLinePropertySource;
import org.springframework.core.env.StandardEnvironment;
import org.springframework.core.io.ClassPathResource;

/**
 * What every command gets: its output streams and the broker's own configuration, built from the same
 * {@code --keybroker.*} / {@code --spring.*} arguments, environment variables and {@code application.yaml} as
 * the server, without starting the server.
 */
public final class CliContext {

    private final PrintWriter out;
    private final PrintWriter err;
    private final List<String> configArgs;
    private final java.io.InputStream in;
    private ConfigurableEnvironment environment;

    public CliContext(PrintWriter out, PrintWriter err, List<String> configArgs) {
        this(out, err, configArgs, System.in);
    }

    public CliContext(PrintWriter out, PrintWriter err, List<String> configArgs, java.io.InputStream in) {
        this.out = out;
        this.err = err;
        this.configArgs = List.copyOf(configArgs);
        this.in = in;
    }

    /** Standard input, for values that must never be command-line arguments. */
    public java.io.InputStream in() {
        return in;
    }

    public PrintWriter out() {
        return out;
    }

    public PrintWriter err() {
        return err;
    }

    /** The broker configuration: command-line arguments, then environment, then application.yaml. */
    public synchronized ConfigurableEnvironment environment() {
        if (environment == null) {
            StandardEnvironment env = new StandardEnvironment();
            env.getPropertySources().addFirst(
                    new SimpleCommandLinePropertySource(configArgs.toArray(String[]::new)));
            try {
                new YamlPropertySourceLoader()
                        .load("application.yaml", new ClassPathResource("application.yaml"))
                        .forEach(env.getPropertySources()::addLast);
            } catch (IOException ex) {
                throw new UncheckedIOException("cannot read the embedded application.yaml", ex);
            }
            environment = env;
        }
        return environment;
    }

    public Binder binder() {
        return Binder.get(environment());
    }
}
