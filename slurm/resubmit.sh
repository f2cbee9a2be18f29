# shellcheck shell=bash
# resubmit.sh: what hrun-node.sbatch and hrun-multinode.sbatch do when the time ran out with
# tasks left (hrun exited 102): submit the same script again, or say how. Sourced by both (not
# run): sbatch runs a copy of the job script from its spool directory, so they find this file
# beside the script as submitted (HRUN_SCRIPT, from `scontrol show job`), or in HRUN_SLURM_DIR.
#
# The sourcing script sets NAME (its name in messages), ARGS (its arguments), HRUN_SCRIPT (the
# script as submitted), ADVICE (how to run the rest) and LEFT (where it says what is left).

# The same script again, after this job, from the same directory, with this job's environment,
# node count, time limit and partition (its output goes to the script's default, #SBATCH
# --output); HRUN_RESUBMITTED counts the jobs so far. Prints the new job's id.
resubmit() {
    local limit
    limit=$(squeue -h -j "$SLURM_JOB_ID" -o %l)
    [ -f "$HRUN_SCRIPT" ] || { echo "$NAME: cannot resubmit: the script $HRUN_SCRIPT is gone" >&2; return 1; }
    (cd "${SLURM_SUBMIT_DIR:-.}" && HRUN_RESUBMITTED=$((${HRUN_RESUBMITTED:-0} + 1)) sbatch --parsable \
        --export=ALL --dependency="afterany:$SLURM_JOB_ID" --nodes="${SLURM_JOB_NUM_NODES:-1}" \
        ${limit:+--time="$limit"} ${SLURM_JOB_PARTITION:+--partition="$SLURM_JOB_PARTITION"} "$HRUN_SCRIPT" \
        ${ARGS[@]+"${ARGS[@]}"})
}

# Resubmits within HRUN_RESUBMIT (exit 0), or says how to run the rest: exit 102, or 0 with
# HRUN_EXIT_ZERO_ON_INCOMPLETE=1.
incomplete() {
    local done=${HRUN_RESUBMITTED:-0} job
    if [ "$done" -lt "${HRUN_RESUBMIT:-0}" ] && job=$(resubmit); then
        echo "$NAME: resubmitted as job ${job%%;*} (resubmission $((done + 1)) of at most $HRUN_RESUBMIT); it resumes the sweep"
        exit 0
    fi
    [ "${HRUN_RESUBMIT:-0}" -gt 0 ] && echo "$NAME: not resubmitted: $done of at most $HRUN_RESUBMIT resubmissions done"
    echo "$NAME: $ADVICE"
    [ "${HRUN_EXIT_ZERO_ON_INCOMPLETE:-0}" = 1 ] && { echo "$NAME: exiting 0 (HRUN_EXIT_ZERO_ON_INCOMPLETE=1): $LEFT"; exit 0; }
    exit 102
}
