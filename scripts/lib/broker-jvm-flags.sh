# Sourced by scripts/measure-startup.sh and scripts/bench-quick.sh: sets FLAGS to the broker's JVM flags as the
# sidecar image starts it, with the chart's memory limit. Needs ROOT (the repository) set; exits on an unreadable
# limit. Prefix of its messages: $FLAGS_OF (the calling script's name).
FLAGS_OF="${FLAGS_OF:-$(basename "$0")}"
# The chart's default memory limit of the sidecar (sidecar.resources.limits.memory in helm/values.yaml), read
# rather than copied so the measurement follows the chart. A container gives it to the JVM through its cgroup;
# here it is -XX:MaxRAM, and with MaxRAMPercentage=50 the heap may grow to half of it.
limit="$(awk '
  /^[^ #]/ { top = ($0 ~ /^sidecar:/); res = 0; lim = 0; next }
  top && /^  [^ #]/ { res = ($0 ~ /^  resources:/); lim = 0; next }
  res && /^    [^ #]/ { lim = ($0 ~ /^    limits:/); next }
  lim && /^      memory:/ { gsub(/["\047]/, "", $2); print $2; exit }
' "$ROOT/helm/values.yaml")"
case "$limit" in
  *Gi) MAX_RAM_MIB=$(( ${limit%Gi} * 1024 )) ;;
  *Mi) MAX_RAM_MIB="${limit%Mi}" ;;
  *) echo "$FLAGS_OF: cannot read sidecar.resources.limits.memory (Mi or Gi) from helm/values.yaml: '$limit'" >&2; exit 1 ;;
esac
[[ "$MAX_RAM_MIB" =~ ^[0-9]+$ ]] || { echo "$FLAGS_OF: sidecar memory limit '$limit' is not a whole number of Mi/Gi" >&2; exit 1; }
# The image's JVM flags: ENTRY_FLAGS (less -XX:AOTCache) and DEFAULT_JDK_JAVA_OPTIONS of sidecar-image/build.sh
# (checked against it below), plus the chart's memory limit as -XX:MaxRAM.
FLAGS=(-XX:+UseSerialGC -XX:+ExitOnOutOfMemoryError -XX:-UsePerfData --enable-native-access=ALL-UNNAMED
       -XX:MaxRAMPercentage=50 -Xss512k -XX:TieredStopAtLevel=1 "-XX:MaxRAM=${MAX_RAM_MIB}m")
for flag in "${FLAGS[@]}"; do
  [[ "$flag" == -XX:MaxRAM=* ]] && continue
  grep -qF -- "$flag" "$ROOT/sidecar-image/build.sh" \
    || echo "$FLAGS_OF: warning: $flag is no longer in sidecar-image/build.sh; update FLAGS here" >&2
done

