//! Running an import against a live event: the one place in `reports`
//! that touches the engine. Shared by the HTTP endpoints and the CLI so
//! both check and submit rows the same way.

use super::import::{self, Format, Plan, Reason, RowStatus};
use super::ReportError;
use crate::domain::Actor;
use crate::engine::{CommandError, EventRuntime, EventState};

/// Read `bytes` and check every row against the event as it is now.
pub fn plan_file(
    rt: &EventRuntime,
    actor: &Actor,
    bytes: &[u8],
    format: Format,
    default_unit: Option<&str>,
) -> Result<Plan, ReportError> {
    let rows = import::read(bytes, format)?;
    let state = EventState {
        seq: rt.seq(),
        questions: rt.questions().into_iter().map(|q| (q.id, q)).collect(),
        floor: Default::default(),
        voters: Default::default(),
    };
    Ok(import::plan(
        &rows,
        &rt.config,
        &state,
        actor,
        crate::now_ms(),
        default_unit,
    ))
}

/// Submit the plan's new rows through the engine (validate → commit →
/// publish, with the normal idempotency) and record each outcome in the
/// report. Commands go in concurrently, a chunk at a time, so the writer's
/// group commit puts many rows in one transaction instead of one fsync each.
pub async fn run(rt: &EventRuntime, actor: &Actor, mut plan: Plan) -> Plan {
    let commands = std::mem::take(&mut plan.commands);
    for chunk in commands.chunks(256) {
        let results = futures_util::future::join_all(
            chunk
                .iter()
                .map(|(_, cmd)| rt.execute(actor.clone(), cmd.clone())),
        )
        .await;
        for ((index, _), result) in chunk.iter().zip(results) {
            let Some(row) = plan.rows.get_mut(*index) else {
                continue;
            };
            match result {
                Ok(ack) if ack.duplicate => row.status = RowStatus::AlreadyImported,
                Ok(_) => row.status = RowStatus::Imported,
                Err(e) => {
                    row.status = RowStatus::Rejected;
                    row.reasons.push(reason(&e));
                }
            }
        }
    }
    plan
}

fn reason(e: &CommandError) -> Reason {
    let (code, vi) = match e {
        CommandError::Domain(d) => return Reason::from_domain(d),
        CommandError::Unavailable => (
            "store_unavailable",
            "Không lưu được; dòng này chưa được nhập",
        ),
        CommandError::OutcomeUnknown => (
            "outcome_unknown",
            "Mất kết nối cơ sở dữ liệu khi đang lưu; hãy nhập lại tệp (dòng đã nhập sẽ không bị trùng)",
        ),
        CommandError::Busy => (
            "busy",
            "Máy chủ đang bận; hãy nhập lại tệp (dòng đã nhập sẽ không bị trùng)",
        ),
        CommandError::Closed => ("shutting_down", "Máy chủ đang dừng; hãy nhập lại tệp"),
        CommandError::DiskFull => (
            "disk_full",
            "Máy chủ hết chỗ lưu trữ; dòng này chưa được nhập, hãy nhập lại tệp khi có chỗ trống",
        ),
        CommandError::DatabaseLost => (
            "store_unavailable",
            "Tệp cơ sở dữ liệu bị mất; dòng này chưa được nhập",
        ),
    };
    Reason {
        code: code.into(),
        message: vi.into(),
        message_en: e.to_string(),
    }
}
