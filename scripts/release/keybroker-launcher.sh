#!/bin/sh
# keybroker @VERSION@: runs the Keybroker CLI (policy, audit, rotate, ...) from the jar next to this script, on
# the first Java 17 or newer it finds:
#   $KEYBROKER_JAVA, then $JAVA_HOME/bin/java, then `java` on PATH, then /usr/lib/jvm/*/bin/java.
#
#   keybroker policy check POLICY_DIR
#   keybroker policy explain POLICY_DIR --identity spiffe://... --secret stripe/secret-key
#   keybroker audit verify audit.log
#
# Extra JVM flags: KEYBROKER_JAVA_OPTS (default: a small, quick-starting JVM for a command-line tool).
# The jar: KEYBROKER_JAR (default: keybroker-@VERSION@.jar beside this script).
set -eu

here="$(cd "$(dirname "$0")" && pwd)"
jar="${KEYBROKER_JAR:-$here/keybroker-@VERSION@.jar}"
if [ ! -f "$jar" ]; then
  echo "keybroker: no jar at $jar (keep keybroker-@VERSION@.jar beside this script, or set KEYBROKER_JAR)" >&2
  exit 2
fi

# The feature version of a java binary (8 for 1.8.0_x, 17 for 17.0.x), or nothing if it does not run.
feature_version() {
  "$1" -XshowSettings:properties -version 2>&1 \
    | sed -n 's/^ *java\.specification\.version = \(1\.\)\{0,1\}\([0-9][0-9]*\).*/\2/p' | head -n 1
}

tried=""
for candidate in ${KEYBROKER_JAVA:+"$KEYBROKER_JAVA"} ${JAVA_HOME:+"$JAVA_HOME/bin/java"} \
    "$(command -v java 2>/dev/null || true)" /usr/lib/jvm/*/bin/java; do
  [ -n "$candidate" ] && [ -x "$candidate" ] || continue
  v="$(feature_version "$candidate")"
  if [ -n "$v" ] && [ "$v" -ge 17 ]; then
    # shellcheck disable=SC2086  # KEYBROKER_JAVA_OPTS is a list of flags
    exec "$candidate" ${KEYBROKER_JAVA_OPTS:--XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto} -jar "$jar" "$@"
  fi
  tried="$tried
  $candidate (Java ${v:-?})"
done
echo "keybroker: needs Java 17 or newer; found none.${tried:+ Tried:$tried}
Install one (e.g. Debian/Ubuntu: apt-get install openjdk-17-jre-headless), or point KEYBROKER_JAVA or JAVA_HOME at it." >&2
exit 127
