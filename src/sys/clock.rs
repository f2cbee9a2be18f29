//! Local calendar time, for messages.

/// `YYYY-MM-DD HH:MM:SS` in local time (`@t` when the C library cannot say).
pub fn local_date_time(t: i64) -> String {
    // SAFETY: localtime_r fills a zeroed struct tm from a valid time_t.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        let secs = t as libc::time_t;
        if libc::localtime_r(&secs, &mut tm).is_null() {
            return format!("@{t}");
        }
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            tm.tm_year as i64 + 1900,
            tm.tm_mon + 1,
            tm.tm_mday,
            tm.tm_hour,
            tm.tm_min,
            tm.tm_sec
        )
    }
}
