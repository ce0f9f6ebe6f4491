package io.keybroker.cli.policy;

import io.keybroker.cli.KeybrokerCli;
import java.io.PrintWriter;
import java.io.StringWriter;

/**
 * One run of {@code keybroker.jar}'s commands in this JVM, as the user would start it, with what it printed.
 *
 * @param status the exit status
 * @param out what it printed on standard output
 * @param err what it printed on standard error
 */
record CliRun(int status, String out, String err) {

    static CliRun of(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int status = KeybrokerCli.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new CliRun(status, out.toString(), err.toString());
    }
}
