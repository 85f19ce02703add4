// Moderator console: every question as it arrives, newest first, with
// filters, accent-insensitive search, all moderation commands, keyboard
// shortcuts, the halls' presence, floor requests and each department's
// running order. Several moderators work at once: every command carries the
// version this console saw, and a conflict is shown with the fresh question.

import { staffClient } from './client.js';
import { addStrings, t, onLang } from './i18n.js';
import { matches } from './fold.js';
import { h, $, bindStatus, announce, hallName, deptName, groupName, stateLabel, fmtTime, initPage, errorText, fillSelect, byQueue } from './ui.js';

addStrings(
  {
    'mod.page_title': 'Điều phối câu hỏi — doithoai', 'mod.title': 'Điều phối câu hỏi', 'mod.filters': 'Lọc', 'mod.search': 'Tìm (không cần dấu)', 'mod.search.ph': 'vd. khoi nghiep',
    'mod.state': 'Trạng thái', 'mod.hall': 'Điểm cầu', 'mod.group': 'Nhóm vấn đề', 'mod.department': 'Sở, ngành trả lời',
    'mod.all': 'Tất cả', 'mod.open': 'Đang xử lý (chờ, duyệt, hàng chờ, đang trả lời)', 'mod.counts.state': 'Theo trạng thái',
    'mod.counts.department': 'Theo sở, ngành', 'mod.counts.hall': 'Theo điểm cầu', 'mod.keys': 'Phím tắt',
    'mod.keys.help': 'j/k: chọn câu sau/trước · a: duyệt · r: từ chối · e: sửa · m: gộp · g: nhóm · s: giao sở · o: lên sóng · x: đã trả lời · w: trả lời bằng văn bản · /: tìm',
    'mod.questions': 'Câu hỏi', 'mod.shown': 'Hiển thị {n} / {total} câu hỏi', 'mod.floor': 'Xin phát biểu', 'mod.order': 'Thứ tự trả lời',
    'mod.halls': 'Điểm cầu', 'mod.cancel': 'Huỷ', 'mod.approve': 'Duyệt', 'mod.reject': 'Từ chối', 'mod.edit': 'Sửa',
    'mod.merge': 'Gộp', 'mod.on_air': 'Lên sóng', 'mod.off_air': 'Rút khỏi sóng', 'mod.answered': 'Đã trả lời', 'mod.defer': 'Trả lời bằng văn bản',
    'mod.assign': 'Giao cho', 'mod.set_group': 'Nhóm', 'mod.reason': 'Lý do từ chối', 'mod.reason.req': 'Cần nhập lý do',
    'mod.original': 'Nguyên văn', 'mod.new_text': 'Nội dung đã biên tập', 'mod.merge_into': 'Gộp vào câu hỏi', 'mod.merge_search': 'Tìm câu hỏi đích',
    'mod.agency': 'Cơ quan trả lời', 'mod.due': 'Hạn trả lời', 'mod.save': 'Lưu', 'mod.grant': 'Cho phát biểu', 'mod.decline': 'Từ chối',
    'mod.end': 'Kết thúc', 'mod.no_floor': 'Không có yêu cầu', 'mod.up': 'Lên', 'mod.down': 'Xuống', 'mod.empty_queue': 'Hàng chờ trống',
    'mod.conflict': 'Người khác vừa thay đổi câu hỏi này (nay: {state}, phiên bản {version}). Thao tác của bạn CHƯA được áp dụng — hãy xem nội dung mới rồi thử lại.',
    'mod.operator': 'Trực', 'mod.no_operator': 'Không có người trực', 'mod.displays': '{n} màn hình', 'mod.last_seen': 'lần cuối {time}',
    'mod.connected': 'Đang kết nối', 'mod.disconnected': 'Mất kết nối', 'mod.never': 'chưa kết nối', 'mod.also_halls': 'cùng hỏi: {halls}',
    'mod.floor_requested': 'Chờ', 'mod.floor_granted': 'Đang phát biểu', 'mod.personal': 'Người hỏi: {who}', 'mod.name_shown': '(cho hiện tên)',
    'mod.version': 'v{v}', 'mod.fresh': 'Nội dung hiện tại: {text}', 'mod.halls_up': '{up}/{total} điểm cầu đang kết nối',
  },
  {
    'mod.page_title': 'Question moderation — doithoai', 'mod.title': 'Question moderation', 'mod.filters': 'Filters', 'mod.search': 'Search (accents optional)', 'mod.search.ph': 'e.g. khoi nghiep',
    'mod.state': 'State', 'mod.hall': 'Hall', 'mod.group': 'Issue group', 'mod.department': 'Answering department',
    'mod.all': 'All', 'mod.open': 'Open (pending, approved, queued, on air)', 'mod.counts.state': 'By state',
    'mod.counts.department': 'By department', 'mod.counts.hall': 'By hall', 'mod.keys': 'Keyboard shortcuts',
    'mod.keys.help': 'j/k: next/previous · a: approve · r: reject · e: edit · m: merge · g: group · s: assign · o: put on air · x: answered · w: written answer · /: search',
    'mod.questions': 'Questions', 'mod.shown': 'Showing {n} of {total} questions', 'mod.floor': 'Floor requests', 'mod.order': 'Running order',
    'mod.halls': 'Halls', 'mod.cancel': 'Cancel', 'mod.approve': 'Approve', 'mod.reject': 'Reject', 'mod.edit': 'Edit',
    'mod.merge': 'Merge', 'mod.on_air': 'Put on air', 'mod.off_air': 'Take off air', 'mod.answered': 'Answered', 'mod.defer': 'Written answer',
    'mod.assign': 'Assign to', 'mod.set_group': 'Group', 'mod.reason': 'Reason for rejection', 'mod.reason.req': 'A reason is required',
    'mod.original': 'Original wording', 'mod.new_text': 'Edited wording', 'mod.merge_into': 'Merge into question', 'mod.merge_search': 'Find the target question',
    'mod.agency': 'Answering agency', 'mod.due': 'Due date', 'mod.save': 'Save', 'mod.grant': 'Grant', 'mod.decline': 'Decline',
    'mod.end': 'End', 'mod.no_floor': 'No requests', 'mod.up': 'Up', 'mod.down': 'Down', 'mod.empty_queue': 'Queue is empty',
    'mod.conflict': 'Someone else just changed this question (now: {state}, version {version}). Your action was NOT applied — check the fresh question and try again.',
    'mod.operator': 'Operator on duty', 'mod.no_operator': 'No operator', 'mod.displays': '{n} displays', 'mod.last_seen': 'last seen {time}',
    'mod.connected': 'Connected', 'mod.disconnected': 'Disconnected', 'mod.never': 'never connected', 'mod.also_halls': 'also asked in: {halls}',
    'mod.floor_requested': 'Waiting', 'mod.floor_granted': 'Speaking', 'mod.personal': 'Asked by: {who}', 'mod.name_shown': '(name may be shown)',
    'mod.version': 'v{v}', 'mod.fresh': 'Current wording: {text}', 'mod.halls_up': '{up} of {total} halls connected',
  },
);

const STATES = ['pending', 'approved', 'queued', 'on_air', 'answered', 'deferred', 'answer_drafted', 'answer_sent', 'published', 'rejected', 'merged'];
const OPEN = new Set(['pending', 'approved', 'queued', 'on_air']);
/** Rendering is capped so 5,000 questions stay responsive; filters narrow it. */
const MAX_SHOWN = 300;
/** Keys that work without a selected question. */
const NAV_KEYS = new Set(['j', 'k', 'ArrowDown', 'ArrowUp', '/']);

initPage();
const client = staffClient();
let selected = null;
/** Until the moderator picks a department's running order, show the busiest queue. */
let orderChosen = false;
/** Per-question notes from the last failed command (conflicts, errors). */
const notes = new Map();

if (!client) {
  $('#notoken').hidden = false;
} else {
  bindStatus(client, $('#conn'));
  client.addEventListener('welcome', () => {
    $('#event-name').textContent = client.event.name;
    $('#who').textContent = client.you.label;
    fillFilters();
    render();
  });
  client.addEventListener('change', (e) => {
    if (e.detail.action === 'submit') {
      for (const q of e.detail.questions) announce(t('common.new_question', { text: q.text.slice(0, 140) }));
    }
    render();
  });
  client.addEventListener('presence', renderHalls);
  client.addEventListener('status', () => render());
  onLang(() => {
    fillFilters();
    render();
  });
  for (const id of ['#search', '#f-state', '#f-hall', '#f-group', '#f-dept']) $(id).addEventListener('input', renderList);
  $('#order-dept').addEventListener('change', () => {
    orderChosen = true;
    renderOrder();
  });
  document.addEventListener('keydown', shortcut);
  $('#dlg-cancel').addEventListener('click', () => $('#dlg').close());
}

function fillFilters() {
  const ev = client.event;
  if (!ev) return;
  const all = { value: '', label: t('mod.all') };
  fillSelect($('#f-state'), [all, { value: 'open', label: t('mod.open') }, ...STATES.map((s) => ({ value: s, label: stateLabel(s) }))]);
  fillSelect($('#f-hall'), [all, ...ev.halls.map((x) => ({ value: x.id, label: x.name }))]);
  fillSelect($('#f-group'), [all, { value: '-', label: t('common.no_group') }, ...ev.groups.map((g) => ({ value: g.id, label: groupName(ev, g.id) }))]);
  const depts = ev.departments.map((d) => ({ value: d.id, label: deptName(ev, d.id) }));
  fillSelect($('#f-dept'), [all, { value: '-', label: t('common.no_department') }, ...depts]);
  fillSelect($('#order-dept'), depts);
}

function filtered() {
  const search = $('#search').value.trim();
  const st = $('#f-state').value;
  const hall = $('#f-hall').value;
  const group = $('#f-group').value;
  const dept = $('#f-dept').value;
  return client
    .list((q) => {
      if (st === 'open' ? !OPEN.has(q.state) : st && q.state !== st) return false;
      if (hall && q.hall !== hall && !(q.halls ?? []).includes(hall)) return false;
      if (group && (q.group ?? '-') !== group) return false;
      if (dept && (q.department ?? '-') !== dept) return false;
      return !search || matches(`${q.text} ${q.original_text ?? ''} ${q.display_name ?? ''}`, search);
    })
    .sort((a, b) => b.created_at - a.created_at);
}

function render() {
  if (!client.event) return;
  renderList();
  renderCounts();
  renderHalls();
  renderFloor();
  renderOrder();
}

/** Re-render, then put focus back on the control that had it (a select inside a card, say). */
function keepFocus(fn) {
  const key = document.activeElement?.dataset?.key;
  fn();
  if (!key) return;
  // The control may be gone (an approved question has no Approve button): keep focus on its card.
  const target = document.querySelector(`[data-key="${CSS.escape(key)}"]`) ?? document.querySelector(`#questions .card[data-id="${selected}"]`);
  target?.focus();
}

function renderList() {
  if (!client.event) return;
  keepFocus(() => {
    const list = filtered();
    $('#shown').textContent = t('mod.shown', { n: Math.min(list.length, MAX_SHOWN), total: client.questions.size });
    $('#questions').replaceChildren(...list.slice(0, MAX_SHOWN).map(card));
  });
}

function card(q) {
  const ev = client.event;
  const note = notes.get(q.id);
  const halls = (q.halls ?? []).map((x) => hallName(ev, x)).join(', ');
  const who = q.questioner ? [q.questioner.name, q.questioner.age, q.questioner.organization, q.questioner.phone].filter((x) => x != null && x !== '').join(' · ') : '';
  const li = h(
    'li',
    {
      class: `card ${q.state}${q.id === selected ? ' selected' : ''}`,
      attrs: { 'data-id': q.id, 'data-state': q.state, tabindex: -1, 'aria-current': q.id === selected ? 'true' : null },
      on: { click: () => select(q.id, false) },
    },
    h(
      'div',
      { class: 'meta' },
      h('span', { class: `badge st-${q.state}`, text: stateLabel(q.state) }),
      h('span', { class: 'hall', text: hallName(ev, q.hall) }),
      halls && h('span', { text: t('mod.also_halls', { halls }) }),
      h('span', { text: t(`source.${q.source}`) + (q.source_note ? ` (${q.source_note})` : '') }),
      h('time', { text: fmtTime(q.created_at), attrs: { datetime: new Date(q.created_at).toISOString() } }),
      h('span', { text: q.group ? groupName(ev, q.group) : t('common.no_group') }),
      q.department && h('span', { class: 'dept', text: deptName(ev, q.department) }),
      q.votes > 1 && h('span', { text: t('common.votes', { n: q.votes }) }),
      h('span', { text: t('mod.version', { v: q.version }) }),
    ),
    h('p', { class: 'text', text: q.text }),
    q.original_text && h('p', { class: 'orig', text: `${t('mod.original')}: ${q.original_text}` }),
    who && h('p', { class: 'orig', text: t('mod.personal', { who }) + (q.questioner.show_name ? ` ${t('mod.name_shown')}` : '') }),
    q.reject_reason && h('p', { class: 'orig', text: `${t('mod.reason')}: ${q.reject_reason}` }),
    q.followup && h('p', { class: 'orig', text: `${t('mod.agency')}: ${q.followup.agency} · ${t('mod.due')}: ${q.followup.due}` }),
    actions(q),
    note && h('p', { class: note.conflict ? 'conflict' : 'error', attrs: { role: 'alert' }, text: note.text }),
  );
  return li;
}

function actions(q) {
  const ev = client.event;
  const s = q.state;
  const btn = (key, fn, cls) => h('button', { text: t(key), class: cls, attrs: { type: 'button', 'data-key': `${key}:${q.id}`, 'data-act': key.slice(4) }, on: { click: (e) => { e.stopPropagation(); select(q.id, false); fn(q); } } });
  const box = h('div', { class: 'actions' });
  if (s === 'pending') box.append(btn('mod.approve', approve, 'primary'));
  if (s === 'queued') box.append(btn('mod.on_air', putOnAir, 'primary'));
  if (s === 'on_air') box.append(btn('mod.answered', markAnswered, 'primary'), btn('mod.off_air', takeOffAir));
  if (s === 'queued') box.append(btn('mod.answered', markAnswered));
  if (OPEN.has(s)) box.append(btn('mod.edit', editDialog));
  if (s !== 'on_air' && OPEN.has(s)) box.append(btn('mod.reject', rejectDialog, 'danger'), btn('mod.merge', mergeDialog));
  if (['approved', 'queued', 'on_air'].includes(s)) box.append(btn('mod.defer', deferDialog));
  if (OPEN.has(s) && s !== 'on_air') {
    const groupSel = h('select', { attrs: { 'data-key': `group:${q.id}`, 'aria-label': t('mod.set_group') }, on: { change: (e) => run(q, { type: 'set_group', question: q.id, version: q.version, group: e.target.value || null }) } });
    fillSelect(groupSel, [{ value: '', label: t('common.no_group') }, ...ev.groups.map((g) => ({ value: g.id, label: groupName(ev, g.id) }))]);
    groupSel.value = q.group ?? '';
    box.append(groupSel);
  }
  if (s === 'approved' || s === 'queued') {
    const deptSel = h('select', { attrs: { 'data-key': `dept:${q.id}`, 'aria-label': t('mod.assign') }, on: { change: (e) => e.target.value && run(q, { type: 'assign', question: q.id, version: q.version, department: e.target.value }) } });
    fillSelect(deptSel, [{ value: '', label: `${t('mod.assign')}…` }, ...ev.departments.map((d) => ({ value: d.id, label: deptName(ev, d.id) }))]);
    deptSel.value = q.department ?? '';
    box.append(deptSel);
  }
  return box.childElementCount ? box : null;
}

/**
 * The freshest copy of a question this console holds. Commands instead carry
 * the version the moderator was looking at, so nobody's change is overwritten unseen.
 */
const cur = (q) => client.questions.get(q.id) ?? q;

/** Run a command for question `q`; remember a failure so its card says why. */
async function run(q, cmd) {
  try {
    await client.command(cmd);
    if (q) notes.delete(q.id);
    render();
    return null;
  } catch (err) {
    const fresh = err.current ?? (q && cur(q));
    const text = err.code === 'conflict' ? t('mod.conflict', { state: stateLabel(fresh.state), version: fresh.version }) : errorText(err);
    if (q) notes.set(q.id, { conflict: err.code === 'conflict', text });
    render();
    return text;
  }
}

const approve = (q) => run(q, { type: 'approve', question: q.id, version: q.version });
const putOnAir = (q) => run(q, { type: 'put_on_air', question: q.id, version: q.version });
const takeOffAir = (q) => run(q, { type: 'take_off_air', question: q.id, version: q.version });
const markAnswered = (q) => run(q, { type: 'mark_answered', question: q.id, version: q.version });

/**
 * Open the shared dialog for question `q`. `submit(version)` returns an error
 * text or null (closes). The command carries the version the moderator saw
 * when opening the dialog; after a conflict the dialog shows the fresh
 * question and a second click applies to that version, knowingly.
 */
function dialog(q, title, okKey, body, submit) {
  let seen = q.version;
  const dlg = $('#dlg');
  $('#dlg-title').textContent = title;
  $('#dlg-body').replaceChildren(...body);
  $('#dlg-error').textContent = '';
  const ok = $('#dlg-ok');
  ok.textContent = t(okKey);
  ok.onclick = async () => {
    ok.disabled = true;
    const err = await submit(seen);
    ok.disabled = false;
    if (notes.get(q.id)?.conflict) seen = cur(q).version;
    if (err) $('#dlg-error').textContent = err;
    else dlg.close();
  };
  dlg.showModal();
  body.find((el) => el.matches?.('textarea, input, select'))?.focus();
}

function field(key, control) {
  control.id = `dlg-${key.replace(/\W/g, '-')}`;
  return [h('label', { text: t(key), attrs: { for: control.id } }), control];
}

function rejectDialog(q) {
  const reason = h('textarea', { attrs: { rows: 3, required: true } });
  dialog(q, t('mod.reject'), 'mod.reject', [h('p', { class: 'text', text: q.text }), ...field('mod.reason', reason)], (version) => {
    const r = reason.value.normalize('NFC').trim();
    if (!r) return t('mod.reason.req');
    return run(q, { type: 'reject', question: q.id, version, reason: r });
  });
}

function editDialog(q) {
  const text = h('textarea', { attrs: { rows: 6, maxlength: client.event.max_question_chars } });
  text.value = q.text;
  const orig = h('p', { class: 'orig', text: q.original_text ?? q.text });
  dialog(q, t('mod.edit'), 'mod.save', [h('h3', { text: t('mod.original') }), orig, ...field('mod.new_text', text)], async (version) => {
    const err = await run(q, { type: 'edit', question: q.id, version, text: text.value.normalize('NFC') });
    // On conflict keep the moderator's wording and show the fresh one beside it.
    if (err) orig.textContent = cur(q).original_text ?? cur(q).text;
    return err && `${err} ${t('mod.fresh', { text: cur(q).text })}`;
  });
}

function mergeDialog(q) {
  const ev = client.event;
  const search = h('input', { attrs: { type: 'search', autocomplete: 'off' } });
  const target = h('select', { attrs: { size: 8 } });
  const fill = () => {
    const list = client
      .list((o) => o.id !== q.id && !['rejected', 'merged'].includes(o.state) && (!search.value || matches(o.text, search.value)))
      .sort((a, b) => b.created_at - a.created_at)
      .slice(0, 200);
    fillSelect(target, list.map((o) => ({ value: o.id, label: `[${hallName(ev, o.hall)}] ${o.text.slice(0, 160)}` })));
  };
  search.addEventListener('input', fill);
  fill();
  dialog(q, t('mod.merge'), 'mod.merge', [h('p', { class: 'text', text: q.text }), ...field('mod.merge_search', search), ...field('mod.merge_into', target)], (version) =>
    target.value ? run(q, { type: 'merge', question: q.id, version, into: target.value }) : t('mod.merge_into'),
  );
}

function deferDialog(q) {
  const ev = client.event;
  const agency = h('input', { attrs: { list: 'agencies', autocomplete: 'off' } });
  agency.value = q.department ? ev.departments.find((d) => d.id === q.department)?.name ?? '' : '';
  const names = [...ev.departments.map((d) => d.name), ...(ev.agencies ?? [])];
  const list = h('datalist', { attrs: { id: 'agencies' } }, names.map((n) => h('option', { attrs: { value: n } })));
  const due = h('input', { attrs: { type: 'date' } });
  dialog(q, t('mod.defer'), 'mod.defer', [h('p', { class: 'text', text: q.text }), ...field('mod.agency', agency), list, ...field('mod.due', due)], (version) => {
    const a = agency.value.normalize('NFC').trim();
    const cmd = { type: 'defer', question: q.id, version, agency: a || null };
    if (due.value) cmd.due = due.value;
    return run(q, cmd);
  });
}

function renderCounts() {
  const ev = client.event;
  const by = (key) => {
    const m = new Map();
    for (const q of client.questions.values()) {
      const k = key(q);
      if (k != null) m.set(k, (m.get(k) ?? 0) + 1);
    }
    return m;
  };
  const dl = (el, entries) => el.replaceChildren(...entries.flatMap(([label, n]) => [h('dt', { text: label }), h('dd', { text: String(n) })]));
  const states = by((q) => q.state);
  dl($('#count-state'), STATES.filter((s) => states.has(s)).map((s) => [stateLabel(s), states.get(s)]));
  const depts = by((q) => (OPEN.has(q.state) ? q.department : null));
  dl($('#count-dept'), ev.departments.filter((d) => depts.has(d.id)).map((d) => [deptName(ev, d.id), depts.get(d.id)]));
  const halls = by((q) => q.hall);
  dl($('#count-hall'), ev.halls.filter((x) => halls.has(x.id)).map((x) => [x.name, halls.get(x.id)]));
}

function renderHalls() {
  const ev = client.event;
  if (!ev) return;
  const pres = new Map(client.presence.map((p) => [p.hall, p]));
  const up = ev.halls.filter((x) => (pres.get(x.id)?.operators ?? 0) + (pres.get(x.id)?.displays ?? 0) > 0).length;
  $('#halls-summary').textContent = t('mod.halls_up', { up, total: ev.halls.length });
  $('#halls').replaceChildren(
    ...ev.halls.map((x) => {
      const p = pres.get(x.id);
      const up = p && p.operators + p.displays > 0;
      const seen = p?.last_seen ? t('mod.last_seen', { time: fmtTime(p.last_seen) }) : t('mod.never');
      return h(
        'li',
        { attrs: { 'data-hall': x.id, 'data-up': up ? 'true' : 'false' } },
        h('span', { class: `dot${up ? ' up' : ''}`, attrs: { 'aria-hidden': 'true' } }),
        h('strong', { text: x.name }),
        h('span', { class: 'visually-hidden', text: up ? t('mod.connected') : t('mod.disconnected') }),
        h('span', { class: 'muted', text: `${p?.operators ? t('mod.operator') : t('mod.no_operator')} · ${t('mod.displays', { n: p?.displays ?? 0 })} · ${seen}` }),
      );
    }),
  );
}

function renderFloor() {
  const ev = client.event;
  const live = [...client.floor.values()].filter((f) => f.state === 'requested' || f.state === 'granted').sort((a, b) => a.requested_at - b.requested_at);
  const floorCmd = (type, f) => run(null, { type, request: f.id });
  const btn = (key, type, f, cls) => h('button', { text: t(key), class: cls, attrs: { type: 'button' }, on: { click: () => floorCmd(type, f) } });
  $('#floor').replaceChildren(
    ...(live.length
      ? live.map((f) =>
          h(
            'li',
            { attrs: { 'data-floor': f.id, 'data-state': f.state } },
            h('strong', { text: hallName(ev, f.hall) }),
            h('span', { class: 'muted', text: `${f.state === 'granted' ? t('mod.floor_granted') : t('mod.floor_requested')} · ${fmtTime(f.requested_at)}` }),
            f.note && h('span', { text: f.note }),
            f.state === 'requested' ? [btn('mod.grant', 'grant_floor', f, 'primary'), btn('mod.decline', 'decline_floor', f)] : btn('mod.end', 'end_floor', f),
          ),
        )
      : [h('li', { class: 'muted', text: t('mod.no_floor') })]),
  );
}

function renderOrder() {
  if (!orderChosen) {
    const counts = new Map();
    for (const q of client.questions.values()) if (q.state === 'queued' || q.state === 'on_air') counts.set(q.department, (counts.get(q.department) ?? 0) + 1);
    const busiest = [...counts].sort((a, b) => b[1] - a[1])[0];
    if (busiest) $('#order-dept').value = busiest[0];
  }
  const dept = $('#order-dept').value;
  const queue = client.list((q) => q.department === dept && (q.state === 'queued' || q.state === 'on_air')).sort(byQueue);
  const queued = queue.filter((q) => q.state === 'queued');
  const move = (q, delta) => {
    const ids = queued.map((x) => x.id);
    const i = ids.indexOf(q.id);
    const j = i + delta;
    if (j < 0 || j >= ids.length) return;
    [ids[i], ids[j]] = [ids[j], ids[i]];
    run(q, { type: 'reorder', department: dept, order: ids });
  };
  $('#order').replaceChildren(
    ...(queue.length
      ? queue.map((q) =>
          h(
            'li',
            { class: q.state === 'on_air' ? 'card on_air' : '', attrs: { 'data-id': q.id } },
            h('span', { class: 'text', text: q.text.slice(0, 120) }),
            q.state === 'queued' && h('button', { text: '↑', attrs: { type: 'button', 'aria-label': t('mod.up'), 'data-key': `up:${q.id}` }, on: { click: () => move(q, -1) } }),
            q.state === 'queued' && h('button', { text: '↓', attrs: { type: 'button', 'aria-label': t('mod.down'), 'data-key': `down:${q.id}` }, on: { click: () => move(q, 1) } }),
          ),
        )
      : [h('li', { class: 'muted', text: t('mod.empty_queue') })]),
  );
}

function select(id, scroll = true) {
  selected = id;
  for (const el of document.querySelectorAll('#questions .card')) {
    const on = el.dataset.id === id;
    el.classList.toggle('selected', on);
    if (on) {
      el.setAttribute('aria-current', 'true');
      if (scroll) {
        el.scrollIntoView({ block: 'nearest' });
        el.focus();
      }
    } else el.removeAttribute('aria-current');
  }
}

function shortcut(e) {
  if (e.ctrlKey || e.metaKey || e.altKey || $('#dlg').open) return;
  if (e.target.closest('input, textarea, select')) {
    if (e.key === 'Escape') e.target.blur();
    return;
  }
  const ids = [...document.querySelectorAll('#questions .card')].map((el) => el.dataset.id);
  const q = selected && client.questions.get(selected);
  const act = (name) => {
    const b = document.querySelector(`#questions .card[data-id="${selected}"] [data-act="${name}"]`);
    if (b) b.click();
  };
  const focusSel = (prefix) => document.querySelector(`[data-key="${prefix}:${selected}"]`)?.focus();
  const step = (d) => select(ids[Math.max(0, Math.min(ids.length - 1, ids.indexOf(selected) + d))] ?? ids[0]);
  const keys = {
    j: () => step(1), ArrowDown: () => step(1), k: () => step(-1), ArrowUp: () => step(-1),
    '/': () => $('#search').focus(), a: () => act('approve'), r: () => act('reject'), e: () => act('edit'), m: () => act('merge'),
    o: () => act('on_air'), x: () => act('answered'), w: () => act('defer'), g: () => focusSel('group'), s: () => focusSel('dept'),
  };
  const fn = keys[e.key];
  if (!fn || (!q && !NAV_KEYS.has(e.key))) return;
  e.preventDefault();
  fn();
}
