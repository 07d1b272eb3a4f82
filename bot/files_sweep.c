/* The sweep of abandoned uploads: a web draft's files whose session ended
 * without a submission (include/zhuqi/files.h). Only the holder of the
 * scheduler's lease runs it, once a second, a bounded batch each time;
 * taking an entry off the list in Redis is what lets one sweeper, and only
 * one, remove the bytes. */
#include "internal.h"
#include "zhuqi/files.h"
#include "zhuqi/log.h"

#define SWEEP_BATCH 100

void zq_files_sweep_step(zq_bot *b)
{
    const zq_config *cfg = b->cfg;
    int64_t now = zq_now_ms();
    /* An entry is looked at once its session could have ended: its TTL
     * (sliding, so a live one is marked seen and looked at again later)
     * plus the grace. */
    int64_t stale = now - ((int64_t)cfg->intake.session_ttl_s + cfg->files.sweep_grace_s) * 1000;
    zq_err err = {0};
    int removed = 0, rc;

    if (b->app->files == NULL)
        return;
    rc = zq_files_sweep(b->st, b->app->files, stale, now, SWEEP_BATCH, &removed, &err);
    zq_bot_redis(b, rc == -ZQ_EUNAVAIL ? rc : 0, "files_sweep", &err);
    if (rc < 0 && rc != -ZQ_EUNAVAIL)
        ZQ_ERROR("event=file_sweep_failed err=\"%s\"", err.msg);
    if (removed > 0)
        ZQ_INFO("event=files_swept count=%d", removed);
}
