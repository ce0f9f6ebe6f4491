package io.keybroker.cli;

import java.io.PrintWriter;
import java.util.List;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.bootstrap.DefaultBootstrapContext;
import org.springframework.boot.context.event.ApplicationEnvironmentPreparedEvent;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.ConfigurationPropertySources;
import org.springframework.boot.convert.ApplicationConversionService;
import org.springframework.boot.env.DefaultPropertiesPropertySource;
import org.springframework.boot.support.EnvironmentPostProcessorApplicationListener;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.ConfigurablePropertyResolver;
import org.springframework.core.env.MutablePropertySources;
import org.springframework.core.env.SimpleCommandLinePropertySource;
import org.springframework.core.env.StandardEnvironment;

/**
 * What every command gets: its output streams and the broker's own configuration, read exactly as the server
 * reads it (Spring Boot's config data: {@code --keybroker.*} / {@code --spring.*} arguments, environment variables,
 * {@code application.yaml}, {@code spring.config.import} and {@code spring.config.additional-location}), without
 * starting the server.
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

    /**
     * The broker configuration, prepared as {@code SpringApplication} prepares the server's, without creating an
     * application context: the command-line arguments, then every {@code EnvironmentPostProcessor} the server runs
     * (Spring Boot's config data, so {@code application.yaml}, profiles, {@code spring.config.import} including
     * {@code configtree:} and {@code spring.config.location} / {@code additional-location}; environment variables,
     * {@code SPRING_APPLICATION_JSON}; and Keybroker's own), in the server's order.
     */
    public synchronized ConfigurableEnvironment environment() {
        if (environment == null) {
            environment = prepare(configArgs.toArray(String[]::new));
        }
        return environment;
    }

    private static ConfigurableEnvironment prepare(String[] args) {
        SpringApplication application = new SpringApplication();
        application.setWebApplicationType(WebApplicationType.NONE);
        ConfigurableEnvironment env = new CliEnvironment();
        env.setConversionService(new ApplicationConversionService());
        env.getPropertySources().addFirst(new SimpleCommandLinePropertySource(args));
        ConfigurationPropertySources.attach(env);
        new EnvironmentPostProcessorApplicationListener().onApplicationEvent(
                new ApplicationEnvironmentPreparedEvent(new DefaultBootstrapContext(), application, args, env));
        DefaultPropertiesPropertySource.moveToEnd(env);
        ConfigurationPropertySources.attach(env);
        return env;
    }

    public Binder binder() {
        return Binder.get(environment());
    }

    /**
     * What {@code SpringApplication} gives a non-web application (its {@code ApplicationEnvironment} is not public):
     * profiles come from config data only, and placeholders resolve through configuration property names.
     */
    private static final class CliEnvironment extends StandardEnvironment {

        @Override
        protected @Nullable String doGetActiveProfilesProperty() {
            return null;
        }

        @Override
        protected @Nullable String doGetDefaultProfilesProperty() {
            return null;
        }

        @Override
        protected ConfigurablePropertyResolver createPropertyResolver(MutablePropertySources propertySources) {
            return ConfigurationPropertySources.createPropertyResolver(propertySources);
        }
    }
}
