package io.keybroker.policy;

/**
 * One problem found while loading policy files, precise enough to fix without guessing.
 *
 * @param file the file name (without directory), or empty for a problem with the directory itself
 * @param line the 1-based line in the file, or 0 when not known
 * @param field the field path, e.g. {@code spec.workloads[0].allow[1].secrets[0]}, or empty for the whole file
 * @param problem what is wrong and what to write instead
 */
public record PolicyError(String file, int line, String field, String problem) {

    /** {@code file:line: field: problem}, leaving out the parts that are not known. */
    @Override
    public String toString() {
        StringBuilder out = new StringBuilder();
        if (!file.isEmpty()) {
            out.append(file);
            if (line > 0) {
                out.append(':').append(line);
            }
            out.append(": ");
        }
        if (!field.isEmpty()) {
            out.append(field).append(": ");
        }
        return out.append(problem).toString();
    }
}
