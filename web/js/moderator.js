// Moderator console, built for the live hour at 600 questions: workflow tabs
// with counts, compact rows (full text and every control on the selected
// row only), new arrivals held behind a "N câu hỏi mới" bar so nothing moves
// under the pointer, keyboard-first actions, bulk actions, a 10-second undo
// for answered / reject / merge, a merge picker that shows what you merge
// into, and the server's hints (similar questions, suggested department and
// group, personal-data flags) and running-order suggestions when it sends them.
//
// Rendering is keyed by question id (questions.js): a change touches only the
// rows of the questions it carries. Every command carries the version this
// console saw; a conflict shows the fresh question on its row.

import { staffClient } from './client.js';
import { addStrings, t, onLang, lang } from './i18n.js';
import { matches } from './fold.js';
import { h, $, bindStatus, announce, hallName, deptName, groupName, stateLabel, fmtTime, initPage, errorText, fillSelect, byQueue } from './ui.js';
import { redactPersonal, REDACTABLE } from './redact.js';
import { noteSender } from './backstage.js';
import { KeyedList } from './keyed.js';

addStrings(
  {
    'mod.page_title': 'Điều phối câu hỏi — doithoai', 'mod.title': 'Điều phối câu hỏi', 'mod.search': 'Tìm (không cần dấu)', 'mod.search.ph': 'Tìm, vd. khoi nghiep (/)',
    'mod.hall': 'Điểm cầu', 'mod.group': 'Nhóm vấn đề', 'mod.department': 'Sở, ngành trả lời', 'mod.tabs': 'Quy trình',
    'mod.all_halls': 'Mọi điểm cầu', 'mod.all_groups': 'Mọi nhóm', 'mod.all_depts': 'Mọi sở, ngành',
    'mod.tab.pending': 'Chờ duyệt', 'mod.tab.approved': 'Đã duyệt, chưa giao', 'mod.tab.queued': 'Hàng chờ các sở', 'mod.tab.on_air': 'Đang trả lời', 'mod.tab.done': 'Đã xong', 'mod.tab.all': 'Tất cả',
    'mod.keys': 'Phím tắt', 'mod.keys.open': 'Phím tắt (?)', 'mod.close': 'Đóng',
    'mod.questions': 'Câu hỏi', 'mod.shown': '{n} câu', 'mod.floor': 'Xin phát biểu', 'mod.order': 'Thứ tự trả lời',
    'mod.halls': 'Điểm cầu', 'mod.cancel': 'Huỷ', 'mod.approve': 'Duyệt', 'mod.reject': 'Từ chối', 'mod.edit': 'Sửa',
    'mod.merge': 'Gộp', 'mod.on_air': 'Lên sóng', 'mod.off_air': 'Rút khỏi sóng', 'mod.answered': 'Đã trả lời', 'mod.defer': 'Trả lời bằng văn bản',
    'mod.assign': 'Giao cho', 'mod.assign_to': 'Giao: {dept}', 'mod.set_group': 'Nhóm', 'mod.reason': 'Lý do từ chối', 'mod.reason.req': 'Cần nhập lý do',
    'mod.original': 'Nguyên văn', 'mod.new_text': 'Nội dung đã biên tập', 'mod.merge_into': 'Chọn câu hỏi đích', 'mod.merge_search': 'Tìm câu hỏi đích (không cần dấu)',
    'mod.merge_similar': 'Câu tương tự (máy gợi ý)', 'mod.merge_results': 'Câu hỏi khác', 'mod.merge_none': 'Không có câu nào khớp', 'mod.merge_source': 'Câu sẽ được gộp (biến mất khỏi danh sách, số người hỏi cộng vào câu đích):',
    'mod.merge_ok': 'Gộp vào câu đã chọn', 'mod.similarity': 'giống {p}%',
    'mod.agency': 'Cơ quan trả lời', 'mod.due': 'Hạn trả lời', 'mod.save': 'Lưu', 'mod.grant': 'Cho phát biểu', 'mod.decline': 'Từ chối',
    'mod.end': 'Kết thúc', 'mod.no_floor': 'Không có yêu cầu', 'mod.up': 'Lên', 'mod.down': 'Xuống', 'mod.empty_queue': 'Hàng chờ trống',
    'mod.conflict': 'Người khác vừa thay đổi câu hỏi này (nay: {state}). Thao tác của bạn CHƯA được áp dụng — hãy xem nội dung mới rồi thử lại.',
    'mod.operator': 'Trực', 'mod.no_operator': 'Không có người trực', 'mod.displays': '{n} màn hình', 'mod.last_seen': 'lần cuối {time}',
    'mod.connected': 'Đang kết nối', 'mod.disconnected': 'Mất kết nối', 'mod.never': 'chưa kết nối', 'mod.also_halls': 'cùng hỏi: {halls}',
    'mod.floor_requested': 'Chờ', 'mod.floor_granted': 'Đang phát biểu', 'mod.personal': 'Người hỏi: {who}', 'mod.name_shown': '(cho hiện tên)',
    'mod.fresh': 'Nội dung hiện tại: {text}', 'mod.halls_up': '{up}/{total} đang kết nối', 'mod.halls_down': 'Mất kết nối: {halls}',
    'mod.new_bar': '{n} câu hỏi mới — bấm để xem (n)', 'mod.empty': 'Không có câu hỏi nào ở đây.', 'mod.nothing_on_air': 'Chưa có câu nào đang trả lời',
    'mod.undo': 'Hoàn tác (u)', 'mod.undone': 'Đã hoàn tác', 'mod.undo_failed': 'Không hoàn tác được: {why}',
    'mod.did.answered': 'Đã đánh dấu đã trả lời: «{text}»', 'mod.did.reject': 'Đã từ chối: «{text}»', 'mod.did.merge': 'Đã gộp «{text}» vào câu khác',
    'mod.did.reject_n': 'Đã từ chối {n} câu hỏi',
    'mod.pick': 'Chọn câu này để thao tác hàng loạt', 'mod.bulk.n': 'Đã chọn {n} câu', 'mod.bulk.approve': 'Duyệt (a)', 'mod.bulk.reject': 'Từ chối (r)', 'mod.bulk.clear': 'Bỏ chọn (Esc)',
    'mod.bulk.assign': 'Giao cho… (s)', 'mod.bulk.group': 'Đặt nhóm… (g)', 'mod.bulk.done': 'Xong {ok}/{n} câu', 'mod.bulk.failed': '{n} câu không thực hiện được (đã bị người khác thay đổi?)',
    'mod.flag.phone_number': 'Có số điện thoại', 'mod.flag.id_number': 'Có số CCCD', 'mod.flag.email': 'Có email', 'mod.flag.profanity': 'Từ ngữ thô tục', 'mod.flag.off_topic': 'Có thể lạc đề',
    'mod.redact': 'Che thông tin cá nhân (c)', 'mod.hint.dept': 'Gợi ý giao: {dept} (d)', 'mod.hint.group': 'Gợi ý nhóm: {group} (p)', 'mod.hint.similar': 'Có thể trùng {n} câu — gộp (m)',
    'mod.suggest': 'Gợi ý tiếp theo', 'mod.suggest.accept': 'Lên sóng câu này (t)', 'mod.suggest.first': 'Đưa lên đầu hàng chờ (t)', 'mod.suggest.dept_first': 'Đưa lên đầu',
    'mod.notes': 'Nhắn từ sân khấu', 'mod.no_notes': 'Chưa có lời nhắn', 'mod.note_in': 'Nhắn từ {from}: {text}',
    'mod.votes': '{n} người hỏi', 'mod.no_group_short': '—', 'mod.edited': 'đã sửa',
    'mod.key.nav': 'Câu sau / câu trước', 'mod.key.tabs': 'Chuyển thẻ quy trình', 'mod.key.search': 'Tìm', 'mod.key.new': 'Hiện câu hỏi mới',
    'mod.key.pick': 'Chọn / bỏ chọn câu (thao tác hàng loạt)', 'mod.key.esc': 'Bỏ chọn, thoát ô nhập', 'mod.key.approve': 'Duyệt (cả các câu đã chọn)',
    'mod.key.reject': 'Từ chối (có thể hoàn tác)', 'mod.key.edit': 'Sửa nội dung', 'mod.key.merge': 'Gộp vào câu khác (có thể hoàn tác)', 'mod.key.group': 'Đặt nhóm vấn đề',
    'mod.key.assign': 'Giao sở, ngành', 'mod.key.hint_dept': 'Nhận sở, ngành được gợi ý', 'mod.key.hint_group': 'Nhận nhóm được gợi ý', 'mod.key.redact': 'Che số điện thoại, CCCD, email',
    'mod.key.on_air': 'Lên sóng', 'mod.key.answered': 'Đã trả lời (có thể hoàn tác)', 'mod.key.defer': 'Trả lời bằng văn bản', 'mod.key.suggest': 'Nhận "Gợi ý tiếp theo"',
    'mod.key.undo': 'Hoàn tác thao tác vừa rồi (trong 10 giây)', 'mod.key.help': 'Bảng phím tắt này',
  },
  {
    'mod.page_title': 'Question moderation — doithoai', 'mod.title': 'Question moderation', 'mod.search': 'Search (accents optional)', 'mod.search.ph': 'Search, e.g. khoi nghiep (/)',
    'mod.hall': 'Hall', 'mod.group': 'Issue group', 'mod.department': 'Answering department', 'mod.tabs': 'Workflow',
    'mod.all_halls': 'All halls', 'mod.all_groups': 'All groups', 'mod.all_depts': 'All departments',
    'mod.tab.pending': 'To review', 'mod.tab.approved': 'Approved, unassigned', 'mod.tab.queued': 'Department queues', 'mod.tab.on_air': 'On air', 'mod.tab.done': 'Done', 'mod.tab.all': 'All',
    'mod.keys': 'Keyboard shortcuts', 'mod.keys.open': 'Shortcuts (?)', 'mod.close': 'Close',
    'mod.questions': 'Questions', 'mod.shown': '{n} questions', 'mod.floor': 'Floor requests', 'mod.order': 'Running order',
    'mod.halls': 'Halls', 'mod.cancel': 'Cancel', 'mod.approve': 'Approve', 'mod.reject': 'Reject', 'mod.edit': 'Edit',
    'mod.merge': 'Merge', 'mod.on_air': 'Put on air', 'mod.off_air': 'Take off air', 'mod.answered': 'Answered', 'mod.defer': 'Written answer',
    'mod.assign': 'Assign to', 'mod.assign_to': 'Assign: {dept}', 'mod.set_group': 'Group', 'mod.reason': 'Reason for rejection', 'mod.reason.req': 'A reason is required',
    'mod.original': 'Original wording', 'mod.new_text': 'Edited wording', 'mod.merge_into': 'Choose the target question', 'mod.merge_search': 'Find the target question (accents optional)',
    'mod.merge_similar': 'Similar questions (suggested)', 'mod.merge_results': 'Other questions', 'mod.merge_none': 'No question matches', 'mod.merge_source': 'Question to merge (it leaves the list; its askers are added to the target):',
    'mod.merge_ok': 'Merge into the chosen question', 'mod.similarity': '{p}% similar',
    'mod.agency': 'Answering agency', 'mod.due': 'Due date', 'mod.save': 'Save', 'mod.grant': 'Grant', 'mod.decline': 'Decline',
    'mod.end': 'End', 'mod.no_floor': 'No requests', 'mod.up': 'Up', 'mod.down': 'Down', 'mod.empty_queue': 'Queue is empty',
    'mod.conflict': 'Someone else just changed this question (now: {state}). Your action was NOT applied — check the fresh question and try again.',
    'mod.operator': 'Operator on duty', 'mod.no_operator': 'No operator', 'mod.displays': '{n} displays', 'mod.last_seen': 'last seen {time}',
    'mod.connected': 'Connected', 'mod.disconnected': 'Disconnected', 'mod.never': 'never connected', 'mod.also_halls': 'also asked in: {halls}',
    'mod.floor_requested': 'Waiting', 'mod.floor_granted': 'Speaking', 'mod.personal': 'Asked by: {who}', 'mod.name_shown': '(name may be shown)',
    'mod.fresh': 'Current wording: {text}', 'mod.halls_up': '{up} of {total} connected', 'mod.halls_down': 'Disconnected: {halls}',
    'mod.new_bar': '{n} new questions — click to show (n)', 'mod.empty': 'No questions here.', 'mod.nothing_on_air': 'Nothing is on air',
    'mod.undo': 'Undo (u)', 'mod.undone': 'Undone', 'mod.undo_failed': 'Could not undo: {why}',
    'mod.did.answered': 'Marked answered: “{text}”', 'mod.did.reject': 'Rejected: “{text}”', 'mod.did.merge': 'Merged “{text}” into another question',
    'mod.did.reject_n': 'Rejected {n} questions',
    'mod.pick': 'Select this question for a bulk action', 'mod.bulk.n': '{n} selected', 'mod.bulk.approve': 'Approve (a)', 'mod.bulk.reject': 'Reject (r)', 'mod.bulk.clear': 'Clear (Esc)',
    'mod.bulk.assign': 'Assign to… (s)', 'mod.bulk.group': 'Set group… (g)', 'mod.bulk.done': 'Done {ok}/{n}', 'mod.bulk.failed': '{n} could not be changed (changed by someone else?)',
    'mod.flag.phone_number': 'Phone number', 'mod.flag.id_number': 'ID number', 'mod.flag.email': 'E-mail', 'mod.flag.profanity': 'Profanity', 'mod.flag.off_topic': 'Possibly off topic',
    'mod.redact': 'Hide personal data (c)', 'mod.hint.dept': 'Suggested: {dept} (d)', 'mod.hint.group': 'Suggested group: {group} (p)', 'mod.hint.similar': 'May duplicate {n} — merge (m)',
    'mod.suggest': 'Suggested next', 'mod.suggest.accept': 'Put this on air (t)', 'mod.suggest.first': 'Move to the front of its queue (t)', 'mod.suggest.dept_first': 'Move to front',
    'mod.notes': 'From the podium', 'mod.no_notes': 'No messages yet', 'mod.note_in': 'Message from {from}: {text}',
    'mod.votes': '{n} asked', 'mod.no_group_short': '—', 'mod.edited': 'edited',
    'mod.key.nav': 'Next / previous question', 'mod.key.tabs': 'Switch workflow tab', 'mod.key.search': 'Search', 'mod.key.new': 'Show new questions',
    'mod.key.pick': 'Select / unselect (bulk actions)', 'mod.key.esc': 'Clear selection, leave a field', 'mod.key.approve': 'Approve (all selected too)',
    'mod.key.reject': 'Reject (can be undone)', 'mod.key.edit': 'Edit wording', 'mod.key.merge': 'Merge into another (can be undone)', 'mod.key.group': 'Set issue group',
    'mod.key.assign': 'Assign department', 'mod.key.hint_dept': 'Accept the suggested department', 'mod.key.hint_group': 'Accept the suggested group', 'mod.key.redact': 'Hide phone, ID and e-mail',
    'mod.key.on_air': 'Put on air', 'mod.key.answered': 'Answered (can be undone)', 'mod.key.defer': 'Written answer', 'mod.key.suggest': 'Accept "Suggested next"',
    'mod.key.undo': 'Undo the last action (within 10 s)', 'mod.key.help': 'This list of shortcuts',
  },
);

const TABS = [
  ['pending', (s) => s === 'pending'],
  ['approved', (s) => s === 'approved'],
  ['queued', (s) => s === 'queued'],
  ['on_air', (s) => s === 'on_air'],
  ['done', (s) => !['pending', 'approved', 'queued', 'on_air'].includes(s)],
  ['all', () => true],
];
const OPEN = new Set(['pending', 'approved', 'queued', 'on_air']);
const UNDO_MS = 10000;
const KEYS = [
  ['j / k, ↓ / ↑', 'mod.key.nav'], ['1 … 6', 'mod.key.tabs'], ['/', 'mod.key.search'], ['n', 'mod.key.new'], ['Space', 'mod.key.pick'], ['Esc', 'mod.key.esc'],
  ['a', 'mod.key.approve'], ['r', 'mod.key.reject'], ['e', 'mod.key.edit'], ['m', 'mod.key.merge'], ['g', 'mod.key.group'], ['s', 'mod.key.assign'],
  ['d', 'mod.key.hint_dept'], ['p', 'mod.key.hint_group'], ['c', 'mod.key.redact'], ['o', 'mod.key.on_air'], ['x', 'mod.key.answered'], ['w', 'mod.key.defer'],
  ['t', 'mod.key.suggest'], ['u', 'mod.key.undo'], ['?', 'mod.key.help'],
];

initPage();
const client = staffClient();
let tab = 'pending';
let selected = null;
/** Ids ticked for a bulk action. */
const picked = new Set();
/** Per-question notes from the last failed command (conflicts, errors). */
const problems = new Map();
/** The latest `suggestions` frame (issue 14), or null while the server sends none. */
let suggestions = null;
/** Backstage notes received, newest first. */
const backstage = [];
/** Until the moderator picks a department's running order, follow the busiest queue. */
let orderChosen = false;
/** Formatted arrival times by timestamp: Intl formatting is the dearest part of a row. */
const times = new Map();
function timeOf(ms) {
  let text = times.get(ms);
  if (text === undefined) {
    text = fmtTime(ms);
    times.set(ms, text);
  }
  return text;
}
/** What the undo toast would take back, and its timer. */
let undoable = null;
let toastTimer = null;
/** Render time of each change, for the browser test's benchmark figure. */
const perf = (window.doithoaiPerf = { changes: [] });

const list = new KeyedList($('#questions'), {
  row: (q, stale) => row(q, stale),
  compare: (a, b) => compare(a, b),
});

if (!client) {
  $('#notoken').hidden = false;
} else {
  bindStatus(client, $('#conn'));
  client.addEventListener('welcome', () => {
    $('#event-name').textContent = client.event.name;
    $('#who').textContent = client.you.label;
    fillFilters();
  });
  // The raw frames: the store is already updated when they arrive here.
  client.addEventListener('message', (e) => onMessage(e.detail));
  client.addEventListener('presence', renderHalls);
  onLang(() => {
    times.clear();
    fillFilters();
    rebuild();
    renderSide();
    renderHelp();
  });
  for (const id of ['#search', '#f-hall', '#f-group', '#f-dept']) $(id).addEventListener('input', rebuild);
  $('#order-dept').addEventListener('change', () => {
    orderChosen = true;
    renderOrder();
  });
  $('#newbar').addEventListener('click', showNew);
  $('#questions').addEventListener('click', onListClick);
  $('#questions').addEventListener('change', onListChange);
  $('#questions').addEventListener('focusin', (e) => {
    const li = e.target.closest('li[data-id]');
    if (li && li.dataset.id !== selected) select(li.dataset.id, false);
  });
  document.addEventListener('keydown', shortcut);
  $('#dlg-cancel').addEventListener('click', () => $('#dlg').close());
  $('#help-open').addEventListener('click', () => $('#help').showModal());
  $('#help-close').addEventListener('click', () => $('#help').close());
  $('#toast-undo').addEventListener('click', undo);
  $('#toast-close').addEventListener('click', hideToast);
  $('#bulk-approve').addEventListener('click', bulkApprove);
  $('#bulk-reject').addEventListener('click', bulkRejectDialog);
  $('#bulk-clear').addEventListener('click', clearPicked);
  $('#bulk-dept').addEventListener('change', (e) => e.target.value && bulkAssign(e.target.value));
  $('#bulk-group').addEventListener('change', (e) => e.target.value && bulkGroup(e.target.value === '-' ? null : e.target.value));
  renderTabs();
  renderHelp();
}

// ---------------------------------------------------------------------------
// Incoming frames
// ---------------------------------------------------------------------------

function onMessage(msg) {
  switch (msg.type) {
    case 'snapshot':
      rebuild();
      renderSide();
      break;
    case 'change': {
      const t0 = performance.now();
      applyChange(msg);
      perf.changes.push(performance.now() - t0);
      if (perf.changes.length > 5000) perf.changes.shift();
      break;
    }
    case 'error':
      if (msg.current) {
        // A conflict carries the question as it is now: show it at once.
        list.update(msg.current, inView(msg.current), { keep: true });
        renderTabs();
      }
      break;
    case 'hints':
      // New hints redraw the rows shown in place (buttons, flags): nothing
      // moves, comes or goes (a stale row stays stale), as for a selection.
      for (const { id } of msg.hints ?? []) {
        const q = client.questions.get(id);
        if (q && list.has(id)) list.update(q, true, { keep: true });
      }
      break;
    case 'suggestions':
      suggestions = msg;
      renderSuggest();
      renderOrder();
      break;
    default:
      break;
  }
}

function applyChange(msg) {
  if (!client.event) return;
  const mine = msg.by === client.you?.label;
  if (msg.note) receiveNote(msg.note);
  for (const id of msg.removed ?? []) {
    list.remove(id);
    picked.delete(id);
  }
  for (const q of msg.questions ?? []) {
    if (mine) problems.delete(q.id);
    const shown = list.has(q.id);
    const wanted = inView(q);
    if (wanted && !shown && !mine && !list.isEmpty()) {
      // Someone else's news: wait behind the bar, so nothing moves under the pointer.
      list.hold(q);
      if (msg.action === 'submit') announce(t('common.new_question', { text: q.text.slice(0, 140) }));
    } else if (!wanted && shown && !mine) {
      // Left this view because of someone else: keep its place, dimmed, until the next sweep.
      list.update(q, true, { stale: true });
    } else {
      list.update(q, wanted);
    }
    if (!wanted && mine && q.id === selected) selectNeighbour();
  }
  if (mine) list.sweep();
  renderNewBar();
  renderTabs();
  renderBulk();
  if ((msg.questions ?? []).some((q) => q.state === 'on_air' || q.state === 'queued') || (msg.removed ?? []).length || msg.action === 'reorder' || msg.action === 'take_off_air' || msg.action === 'mark_answered') {
    renderAir();
    renderOrder();
    renderSuggest();
  }
  if (msg.floor?.length) renderFloor();
}

// ---------------------------------------------------------------------------
// The list
// ---------------------------------------------------------------------------

function fillFilters() {
  const ev = client.event;
  if (!ev) return;
  fillSelect($('#f-hall'), [{ value: '', label: t('mod.all_halls') }, ...ev.halls.map((x) => ({ value: x.id, label: x.name }))]);
  fillSelect($('#f-group'), [{ value: '', label: t('mod.all_groups') }, { value: '-', label: t('common.no_group') }, ...ev.groups.map((g) => ({ value: g.id, label: groupName(ev, g.id) }))]);
  const depts = ev.departments.map((d) => ({ value: d.id, label: deptName(ev, d.id) }));
  fillSelect($('#f-dept'), [{ value: '', label: t('mod.all_depts') }, { value: '-', label: t('common.no_department') }, ...depts]);
  fillSelect($('#order-dept'), depts);
  fillSelect($('#bulk-dept'), [{ value: '', label: t('mod.bulk.assign') }, ...depts]);
  fillSelect($('#bulk-group'), [{ value: '', label: t('mod.bulk.group') }, { value: '-', label: t('common.no_group') }, ...ev.groups.map((g) => ({ value: g.id, label: groupName(ev, g.id) }))]);
}

function tabTest(name) {
  return TABS.find(([n]) => n === name)[1];
}

function inView(q) {
  if (!tabTest(tab)(q.state)) return false;
  const search = $('#search').value.trim();
  const hall = $('#f-hall').value;
  const group = $('#f-group').value;
  const dept = $('#f-dept').value;
  if (hall && q.hall !== hall && !(q.halls ?? []).includes(hall)) return false;
  if (group && (q.group ?? '-') !== group) return false;
  if (dept && (q.department ?? '-') !== dept) return false;
  return !search || matches(`${q.text} ${q.original_text ?? ''} ${q.display_name ?? ''}`, search);
}

/** Queues in the running order (department, then position); everything else newest first. */
function compare(a, b) {
  if (tab === 'queued') {
    const ds = client.event.departments.map((d) => d.id);
    return ds.indexOf(a.department) - ds.indexOf(b.department) || byQueue(a, b);
  }
  return b.created_at - a.created_at || (a.id < b.id ? -1 : 1);
}

function rebuild() {
  if (!client.event) return;
  list.reset(client.list(inView));
  if (selected && !list.has(selected)) selected = null;
  for (const id of [...picked]) if (!list.has(id)) picked.delete(id);
  renderNewBar();
  renderTabs();
  renderBulk();
}

function renderTabs() {
  if (!client?.event) return;
  const counts = new Map(TABS.map(([n]) => [n, 0]));
  for (const q of client.questions.values()) for (const [n, test] of TABS) if (test(q.state)) counts.set(n, counts.get(n) + 1);
  const box = $('#tabs');
  if (!box.childElementCount) {
    box.append(
      ...TABS.map(([n], i) =>
        h('button', {
          attrs: { type: 'button', role: 'tab', id: `tab-${n}`, 'data-tab': n, 'aria-keyshortcuts': String(i + 1) },
          on: { click: () => switchTab(n) },
        }, h('span', { class: 'tab-label' }), ' ', h('span', { class: 'count' })),
      ),
    );
  }
  for (const b of box.children) {
    const n = b.dataset.tab;
    b.querySelector('.tab-label').textContent = t(`mod.tab.${n}`);
    b.querySelector('.count').textContent = String(counts.get(n));
    b.setAttribute('aria-selected', n === tab ? 'true' : 'false');
    b.tabIndex = n === tab ? 0 : -1;
  }
  $('#shown').textContent = t('mod.shown', { n: list.size() });
}

function switchTab(name) {
  tab = name;
  selected = null;
  clearPicked();
  rebuild();
  $('#questions').scrollTop = 0;
}

function renderNewBar() {
  const n = list.heldCount();
  const bar = $('#newbar');
  bar.hidden = n === 0;
  bar.textContent = t('mod.new_bar', { n });
}

function showNew() {
  list.release();
  list.sweep();
  renderNewBar();
  renderTabs();
  $('#questions').scrollTop = 0;
}

/** One compact row: pick box, hall and time, the text, one primary action. The selected row adds details and every control. */
function row(q, stale = false) {
  const ev = client.event;
  const open = q.id === selected;
  const votes = q.votes > 1 ? h('span', { class: 'votes', text: t('mod.votes', { n: q.votes }) }) : null;
  const flags = (q.hints?.flags ?? []).map((f) => h('span', { class: `flag flag-${f}`, text: t(`mod.flag.${f}`) }));
  const li = h(
    'li',
    {
      class: `mrow ${q.state}${open ? ' open' : ''}${stale ? ' stale' : ''}${picked.has(q.id) ? ' picked' : ''}`,
      attrs: { 'data-id': q.id, 'data-question-id': q.id, 'data-state': q.state, tabindex: open ? 0 : -1, 'aria-current': open ? 'true' : null },
    },
    h('input', { class: 'pick', attrs: { type: 'checkbox', 'aria-label': t('mod.pick'), 'data-pick': q.id, tabindex: -1, checked: picked.has(q.id) } }),
    h(
      'div',
      { class: 'rmeta' },
      h('span', { class: 'hall', text: hallName(ev, q.hall) }),
      h('span', { class: 'when' }, h('time', { text: timeOf(q.created_at), attrs: { datetime: new Date(q.created_at).toISOString() } }), votes && ' · ', votes),
    ),
    h('div', { class: 'rbody' }, h('p', { class: 'text', text: q.text }), flags.length ? h('div', { class: 'flags' }, flags) : null),
    h('div', { class: 'rside' }, sideInfo(q), primary(q)),
    open ? details(q) : null,
  );
  return li;
}

function sideInfo(q) {
  const ev = client.event;
  const bits = [];
  if (tab === 'all' || tab === 'done' || !tabTest(tab)(q.state)) bits.push(h('span', { class: `badge st-${q.state}`, text: stateLabel(q.state) }));
  if (q.department && tab !== 'queued') bits.push(h('span', { class: 'chip dept', text: deptName(ev, q.department) }));
  if (tab === 'queued') bits.push(h('span', { class: 'chip dept', text: `${deptName(ev, q.department)} · ${q.queue_pos}` }));
  return bits.length ? h('span', { class: 'rinfo' }, bits) : null;
}

/** The row's one always-visible action, by state. */
function primary(q) {
  const ev = client.event;
  const b = (act, text, cls = 'primary') => h('button', { text, class: `act ${cls}`, attrs: { type: 'button', 'data-act': act, 'data-key': `${act}:${q.id}` } });
  switch (q.state) {
    case 'pending':
      return b('approve', t('mod.approve'));
    case 'approved':
      return q.hints?.department ? b('hint-dept', t('mod.assign_to', { dept: deptName(ev, q.hints.department.id) })) : b('open-assign', `${t('mod.assign')}…`, '');
    case 'queued':
      return b('on_air', t('mod.on_air'));
    case 'on_air':
      return b('answered', t('mod.answered'));
    default:
      return null;
  }
}

/** Everything else about the selected question, and every control it allows. */
function details(q) {
  const ev = client.event;
  const s = q.state;
  const problem = problems.get(q.id);
  const halls = (q.halls ?? []).map((x) => hallName(ev, x)).join(', ');
  const who = q.questioner ? [q.questioner.name, q.questioner.age, q.questioner.organization, q.questioner.phone].filter((x) => x != null && x !== '').join(' · ') : '';
  const btn = (act, key, cls = '') => h('button', { text: t(key), class: cls, attrs: { type: 'button', 'data-act': act, 'data-key': `${act}:${q.id}` } });
  const bar = h('div', { class: 'actions' });
  if (s === 'pending') bar.append(btn('approve', 'mod.approve', 'primary'));
  if (s === 'queued') bar.append(btn('on_air', 'mod.on_air', 'primary'));
  if (s === 'on_air') bar.append(btn('answered', 'mod.answered', 'primary'), btn('off_air', 'mod.off_air'));
  if (s === 'queued') bar.append(btn('answered', 'mod.answered'));
  if (OPEN.has(s)) bar.append(btn('edit', 'mod.edit'));
  if (s !== 'on_air' && OPEN.has(s)) bar.append(btn('reject', 'mod.reject', 'danger'), btn('merge', 'mod.merge'));
  if (['approved', 'queued', 'on_air'].includes(s)) bar.append(btn('defer', 'mod.defer'));
  if (OPEN.has(s) && s !== 'on_air') {
    const groupSel = h('select', { attrs: { 'data-key': `group:${q.id}`, 'aria-label': t('mod.set_group') } });
    fillSelect(groupSel, [{ value: '', label: t('common.no_group') }, ...ev.groups.map((g) => ({ value: g.id, label: groupName(ev, g.id) }))]);
    groupSel.value = q.group ?? '';
    bar.append(groupSel);
  }
  if (s === 'approved' || s === 'queued' || s === 'pending') {
    const deptSel = h('select', { attrs: { 'data-key': `dept:${q.id}`, 'aria-label': t('mod.assign') } });
    fillSelect(deptSel, [{ value: '', label: `${t('mod.assign')}…` }, ...ev.departments.map((d) => ({ value: d.id, label: deptName(ev, d.id) }))]);
    deptSel.value = s === 'queued' ? q.department ?? '' : '';
    bar.append(deptSel);
  }
  const hints = h('div', { class: 'hints' });
  const hint = q.hints ?? {};
  if (hint.department && OPEN.has(s) && s !== 'on_air' && hint.department.id !== q.department) hints.append(btn('hint-dept', 'mod.hint.dept'));
  if (hint.group && OPEN.has(s) && hint.group.id !== q.group) hints.append(btn('hint-group', 'mod.hint.group'));
  if ((hint.flags ?? []).some((f) => REDACTABLE.has(f)) && OPEN.has(s) && redactPersonal(q.text) !== q.text) hints.append(btn('redact', 'mod.redact', 'danger'));
  if (hint.similar?.length && OPEN.has(s) && s !== 'on_air') hints.append(btn('merge', 'mod.hint.similar'));
  for (const b of hints.querySelectorAll('[data-act="hint-dept"]')) b.textContent = t('mod.hint.dept', { dept: deptName(ev, hint.department.id) });
  for (const b of hints.querySelectorAll('[data-act="hint-group"]')) b.textContent = t('mod.hint.group', { group: groupName(ev, hint.group.id) });
  for (const b of hints.querySelectorAll('.hints [data-act="merge"]')) b.textContent = t('mod.hint.similar', { n: hint.similar.length });
  return h(
    'div',
    { class: 'rdetails' },
    h(
      'p',
      { class: 'meta' },
      h('span', { class: `badge st-${q.state}`, text: stateLabel(q.state) }),
      h('span', { text: t(`source.${q.source}`) + (q.source_note ? ` (${q.source_note})` : '') }),
      h('span', { text: q.group ? groupName(ev, q.group) : t('common.no_group') }),
      q.department && h('span', { text: deptName(ev, q.department) }),
      halls && h('span', { text: t('mod.also_halls', { halls }) }),
    ),
    q.original_text && h('p', { class: 'orig', text: `${t('mod.original')}: ${q.original_text}` }),
    who && h('p', { class: 'orig', text: t('mod.personal', { who }) + (q.questioner.show_name ? ` ${t('mod.name_shown')}` : '') }),
    q.reject_reason && h('p', { class: 'orig', text: `${t('mod.reason')}: ${q.reject_reason}` }),
    q.followup && h('p', { class: 'orig', text: `${t('mod.agency')}: ${q.followup.agency} · ${t('mod.due')}: ${q.followup.due}` }),
    hints.childElementCount ? hints : null,
    bar.childElementCount ? bar : null,
    problem && h('p', { class: problem.conflict ? 'conflict' : 'error', attrs: { role: 'alert' }, text: problem.text }),
  );
}

function onListClick(e) {
  const li = e.target.closest('li[data-id]');
  if (!li) return;
  const q = client.questions.get(li.dataset.id);
  if (!q) return;
  if (e.target.matches('input.pick')) {
    togglePick(q.id, e.target.checked);
    return;
  }
  const act = e.target.closest('button[data-act]')?.dataset.act;
  if (act) {
    e.stopPropagation();
    if (q.id !== selected) select(q.id, false);
    act_(act, q);
    return;
  }
  if (e.target.closest('select, input, textarea')) return;
  if (q.id !== selected) select(q.id, false);
}

/**
 * The selected row's selects. Delegated, and at the question's current
 * version: a row is patched in place when the question changes (keyed.js), so
 * the select the moderator is on may have been drawn from an older version.
 */
function onListChange(e) {
  const [kind, id] = (e.target.dataset?.key ?? '').split(/:(.*)/s);
  const q = id && client.questions.get(id);
  if (!q) return;
  const value = e.target.value;
  // Sent: no longer a pending choice, so the row's next drawing shows the outcome.
  e.target.shown = value;
  if (kind === 'group') run(q, { type: 'set_group', question: q.id, version: q.version, group: value || null });
  if (kind === 'dept' && value) assign(q, value);
}

/** Select (open) one row; the previous one folds back. */
function select(id, focus = true) {
  const before = selected;
  selected = id;
  for (const other of [before, id]) {
    if (!other) continue;
    const q = client.questions.get(other);
    if (q && list.has(other)) list.update(q, true, { keep: true });
  }
  const el = list.element(id);
  if (el && focus) {
    el.scrollIntoView({ block: 'nearest' });
    el.focus({ preventScroll: true });
  }
}

function selectNeighbour() {
  const next = list.neighbour(selected);
  selected = null;
  if (next) setTimeout(() => select(next), 0);
}

function togglePick(id, on) {
  if (on) picked.add(id);
  else picked.delete(id);
  list.element(id)?.classList.toggle('picked', on);
  const box = list.element(id)?.querySelector('input.pick');
  if (box) box.checked = on;
  renderBulk();
}

function clearPicked() {
  for (const id of [...picked]) togglePick(id, false);
  renderBulk();
}

function renderBulk() {
  $('#bulk').hidden = picked.size === 0;
  $('#bulk-n').textContent = t('mod.bulk.n', { n: picked.size });
}

// ---------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------

/** The freshest copy of a question this console holds. */
function cur(q) {
  return client.questions.get(q.id) ?? q;
}

/** Run a command for question `q`; remember a failure so its row says why. Returns the error text or null. */
async function run(q, cmd) {
  try {
    await client.command(cmd);
    if (q) problems.delete(q.id);
    return null;
  } catch (err) {
    const fresh = err.current ?? (q && cur(q));
    const text = err.code === 'conflict' ? t('mod.conflict', { state: stateLabel(fresh.state) }) : errorText(err);
    if (q) {
      problems.set(q.id, { conflict: err.code === 'conflict', text });
      if (list.has(q.id)) list.update(cur(q), true, { keep: true });
    }
    announce(text);
    return text;
  }
}

function act_(act, q) {
  const fns = {
    approve: () => run(q, { type: 'approve', question: q.id, version: q.version }),
    on_air: () => run(q, { type: 'put_on_air', question: q.id, version: q.version }),
    off_air: () => run(q, { type: 'take_off_air', question: q.id, version: q.version }),
    answered: () => markAnswered(q),
    edit: () => editDialog(q),
    reject: () => rejectDialog(q),
    merge: () => mergeDialog(q),
    defer: () => deferDialog(q),
    'hint-dept': () => q.hints?.department && assign(q, q.hints.department.id),
    'hint-group': () => q.hints?.group && run(q, { type: 'set_group', question: q.id, version: q.version, group: q.hints.group.id }),
    redact: () => redact(q),
    'open-assign': () => setTimeout(() => document.querySelector(`[data-key="dept:${q.id}"]`)?.focus(), 0),
  };
  return fns[act]?.();
}

/** Assign a department; a pending question is approved first (two ordinary commands). */
async function assign(q, department) {
  let v = q.version;
  if (q.state === 'pending') {
    if (await run(q, { type: 'approve', question: q.id, version: v })) return;
    v = cur(q).version;
  }
  await run(q, { type: 'assign', question: q.id, version: v, department });
}

async function redact(q) {
  // Only what the server flagged: the key does nothing on an unflagged question.
  if (!(q.hints?.flags ?? []).some((f) => REDACTABLE.has(f))) return;
  const text = redactPersonal(q.text);
  if (text !== q.text) await run(q, { type: 'edit', question: q.id, version: q.version, text });
}

async function markAnswered(q) {
  const before = { state: q.state };
  if (!(await run(q, { type: 'mark_answered', question: q.id, version: q.version }))) {
    offerUndo(t('mod.did.answered', { text: short(q.text) }), [{ kind: 'answered', id: q.id, before }]);
  }
}

function short(s) {
  return s.length > 60 ? `${s.slice(0, 57)}…` : s;
}

// --- undo -----------------------------------------------------------------


/** Show "done — Hoàn tác" for 10 s; `steps` say how to take the action back. */
function offerUndo(text, steps) {
  undoable = steps;
  $('#toast-text').textContent = text;
  $('#toast-undo').hidden = false;
  $('#toast').hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(hideToast, UNDO_MS);
}

function hideToast() {
  undoable = null;
  $('#toast').hidden = true;
}

function toastMessage(text) {
  undoable = null;
  $('#toast-text').textContent = text;
  $('#toast-undo').hidden = true;
  $('#toast').hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(hideToast, 4000);
}

async function undo() {
  const steps = undoable;
  if (!steps) return;
  hideToast();
  const failures = [];
  for (const step of steps) {
    const err = await undoOne(step);
    if (err) failures.push(err);
  }
  toastMessage(failures.length ? t('mod.undo_failed', { why: failures[0] }) : t('mod.undone'));
  announce($('#toast-text').textContent);
}

/** Take one action back with ordinary versioned commands, at the versions this console holds now. */
async function undoOne({ kind, id, before }) {
  const q = client.questions.get(id);
  if (!q) return errorText({ code: 'not_found', message: 'Không tìm thấy câu hỏi', message_en: 'question not found' });
  if (kind === 'merge') return run(q, { type: 'unmerge', question: id, version: q.version });
  const err = await run(q, { type: 'reopen', question: id, version: q.version });
  if (err) return err;
  if (kind === 'answered' && before.state === 'on_air' && !client.list((o) => o.state === 'on_air').length) {
    return run(q, { type: 'put_on_air', question: id, version: cur(q).version });
  }
  if (kind === 'reject' && ['approved', 'queued'].includes(before.state)) {
    const e2 = await run(q, { type: 'approve', question: id, version: cur(q).version });
    if (e2 || before.state !== 'queued' || !before.department) return e2;
    return run(q, { type: 'assign', question: id, version: cur(q).version, department: before.department });
  }
  return null;
}

// --- dialogs ----------------------------------------------------------------

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
    if (problems.get(q.id)?.conflict) seen = cur(q).version;
    if (err) $('#dlg-error').textContent = err;
    else dlg.close();
  };
  dlg.onkeydown = (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.target.matches('textarea, button')) {
      e.preventDefault();
      ok.click();
    }
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
  dialog(q, t('mod.reject'), 'mod.reject', [h('p', { class: 'text', text: q.text }), ...field('mod.reason', reason)], async (version) => {
    const r = reason.value.normalize('NFC').trim();
    if (!r) return t('mod.reason.req');
    const before = { state: q.state, department: q.department };
    const err = await run(q, { type: 'reject', question: q.id, version, reason: r });
    if (!err) offerUndo(t('mod.did.reject', { text: short(q.text) }), [{ kind: 'reject', id: q.id, before }]);
    return err;
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

/**
 * The merge picker: the server's similar questions first, then the moderator's
 * search, each with its full text, state, hall and department, so a merge goes
 * into the question meant. Radio buttons: arrow keys move, Enter merges.
 */
function mergeDialog(q) {
  const ev = client.event;
  const search = h('input', { attrs: { type: 'search', autocomplete: 'off' } });
  const box = h('div', { class: 'pick-list', attrs: { role: 'radiogroup', 'aria-label': t('mod.merge_into') } });
  const mergeable = (o) => o && o.id !== q.id && !['rejected', 'merged'].includes(o.state);
  const option = (o, score) =>
    h(
      'label',
      { class: `pick-option ${o.state}`, attrs: { 'data-target': o.id } },
      h('input', { attrs: { type: 'radio', name: 'merge-target', value: o.id } }),
      h(
        'span',
        { class: 'pick-body' },
        h(
          'span',
          { class: 'meta' },
          h('span', { class: `badge st-${o.state}`, text: stateLabel(o.state) }),
          h('span', { text: hallName(ev, o.hall) }),
          h('span', { text: o.department ? deptName(ev, o.department) : t('common.no_department') }),
          o.votes > 1 && h('span', { text: t('mod.votes', { n: o.votes }) }),
          score != null && h('strong', { text: t('mod.similarity', { p: Math.round(score * 100) }) }),
        ),
        h('span', { class: 'text', text: o.text }),
      ),
    );
  const fill = () => {
    const chosen = box.querySelector('input:checked')?.value;
    const similar = (q.hints?.similar ?? []).map((s) => [client.questions.get(s.id), s.score]).filter(([o]) => mergeable(o) && (!search.value || matches(o.text, search.value)));
    const seen = new Set(similar.map(([o]) => o.id));
    const rest = client
      .list((o) => mergeable(o) && !seen.has(o.id) && (!search.value || matches(`${o.text} ${o.original_text ?? ''}`, search.value)))
      .sort((a, b) => OPEN.has(b.state) - OPEN.has(a.state) || b.created_at - a.created_at)
      .slice(0, 40);
    box.replaceChildren(
      similar.length ? h('h3', { text: t('mod.merge_similar') }) : null,
      ...similar.map(([o, score]) => option(o, score)),
      rest.length ? h('h3', { text: t('mod.merge_results') }) : null,
      ...rest.map((o) => option(o)),
      !similar.length && !rest.length ? h('p', { class: 'muted', text: t('mod.merge_none') }) : null,
    );
    const keep = chosen && box.querySelector(`input[value="${CSS.escape(chosen)}"]`);
    const first = keep ?? box.querySelector('input[type=radio]');
    if (first) first.checked = true;
  };
  search.addEventListener('input', fill);
  fill();
  dialog(q, t('mod.merge'), 'mod.merge_ok', [h('p', { class: 'muted', text: t('mod.merge_source') }), h('p', { class: 'text source', text: q.text }), ...field('mod.merge_search', search), box], async (version) => {
    const into = box.querySelector('input:checked')?.value;
    if (!into) return t('mod.merge_into');
    const err = await run(q, { type: 'merge', question: q.id, version, into });
    if (!err) offerUndo(t('mod.did.merge', { text: short(q.text) }), [{ kind: 'merge', id: q.id }]);
    return err;
  });
  // Start in the list when the server suggested something; else in the search.
  if (q.hints?.similar?.length) box.querySelector('input:checked')?.focus();
}

function deferDialog(q) {
  const ev = client.event;
  const agency = h('input', { attrs: { list: 'agencies', autocomplete: 'off' } });
  agency.value = q.department ? ev.departments.find((d) => d.id === q.department)?.name ?? '' : '';
  const names = [...ev.departments.map((d) => d.name), ...(ev.agencies ?? [])];
  const list_ = h('datalist', { attrs: { id: 'agencies' } }, names.map((n) => h('option', { attrs: { value: n } })));
  const due = h('input', { attrs: { type: 'date' } });
  dialog(q, t('mod.defer'), 'mod.defer', [h('p', { class: 'text', text: q.text }), ...field('mod.agency', agency), list_, ...field('mod.due', due)], (version) => {
    const a = agency.value.normalize('NFC').trim();
    const cmd = { type: 'defer', question: q.id, version, agency: a || null };
    if (due.value) cmd.due = due.value;
    return run(q, cmd);
  });
}

// --- bulk -------------------------------------------------------------------

function pickedQuestions() {
  return [...picked].map((id) => client.questions.get(id)).filter(Boolean);
}

async function bulk(fn) {
  const qs = pickedQuestions();
  const results = await Promise.all(qs.map(fn));
  const failed = results.filter(Boolean).length;
  clearPicked();
  toastMessage(failed ? t('mod.bulk.failed', { n: failed }) : t('mod.bulk.done', { ok: qs.length, n: qs.length }));
}

function bulkApprove() {
  return bulk((q) => (q.state === 'pending' ? run(q, { type: 'approve', question: q.id, version: q.version }) : null));
}
async function bulkAssign(dept) {
  await bulk((q) => (['pending', 'approved', 'queued'].includes(q.state) ? assign(q, dept).then(() => problems.get(q.id)?.text ?? null) : null));
  $('#bulk-dept').value = '';
}
async function bulkGroup(group) {
  await bulk((q) => run(q, { type: 'set_group', question: q.id, version: q.version, group }));
  $('#bulk-group').value = '';
}

function bulkRejectDialog() {
  const qs = pickedQuestions().filter((q) => ['pending', 'approved', 'queued'].includes(q.state));
  if (!qs.length) return;
  const reason = h('textarea', { attrs: { rows: 3, required: true } });
  const first = qs[0];
  dialog(first, t('mod.reject'), 'mod.reject', [h('p', { text: t('mod.bulk.n', { n: qs.length }) }), h('ul', { class: 'bulk-texts' }, qs.map((q) => h('li', { text: q.text }))), ...field('mod.reason', reason)], async () => {
    const r = reason.value.normalize('NFC').trim();
    if (!r) return t('mod.reason.req');
    const steps = [];
    const errs = await Promise.all(
      qs.map(async (q) => {
        const err = await run(q, { type: 'reject', question: q.id, version: q.version, reason: r });
        if (!err) steps.push({ kind: 'reject', id: q.id, before: { state: q.state, department: q.department } });
        return err;
      }),
    );
    clearPicked();
    if (steps.length) offerUndo(t('mod.did.reject_n', { n: steps.length }), steps);
    return errs.find(Boolean) ?? null;
  });
}

// ---------------------------------------------------------------------------
// The side column
// ---------------------------------------------------------------------------

function renderSide() {
  renderAir();
  renderSuggest();
  renderNotes();
  renderHalls();
  renderFloor();
  renderOrder();
}

function renderAir() {
  const ev = client.event;
  if (!ev) return;
  const q = client.list((x) => x.state === 'on_air')[0];
  if (!q) {
    $('#air').replaceChildren(h('p', { class: 'muted', text: t('mod.nothing_on_air') }));
    return;
  }
  $('#air').replaceChildren(
    h(
      'div',
      { class: 'card on_air', attrs: { 'data-question-id': q.id, 'data-on-air-id': q.id } },
      h('p', { class: 'meta', text: `${hallName(ev, q.hall)} · ${deptName(ev, q.department)}${q.votes > 1 ? ` · ${t('mod.votes', { n: q.votes })}` : ''}` }),
      h('p', { class: 'text clamp', text: q.text }),
      h(
        'div',
        { class: 'actions' },
        h('button', { text: t('mod.answered'), class: 'primary', attrs: { type: 'button', 'data-air-act': 'answered' }, on: { click: () => markAnswered(q) } }),
        h('button', { text: t('mod.off_air'), attrs: { type: 'button' }, on: { click: () => run(q, { type: 'take_off_air', question: q.id, version: q.version }) } }),
      ),
    ),
  );
}

/** "Gợi ý tiếp theo": the server's overall suggestion (issue 14), one key to accept. */
function renderSuggest() {
  const ev = client.event;
  const s = suggestions?.overall;
  const q = s && client.questions.get(s.question);
  $('#suggest').hidden = !q || q.state !== 'queued';
  if (!q || q.state !== 'queued') return;
  const nothingOnAir = !client.list((x) => x.state === 'on_air').length;
  $('#suggest-body').replaceChildren(
    h('p', { class: 'meta', text: `${deptName(ev, q.department)} · ${hallName(ev, q.hall)}` }),
    h('p', { class: 'text clamp', text: q.text, attrs: { 'data-question-id': q.id } }),
    h('p', { class: 'muted', text: lang() === 'en' && s.reason_en ? s.reason_en : s.reason ?? '' }),
    h('button', { text: t(nothingOnAir ? 'mod.suggest.accept' : 'mod.suggest.first'), class: 'primary', attrs: { type: 'button', id: 'suggest-accept', 'aria-keyshortcuts': 't' }, on: { click: acceptSuggestion } }),
  );
}

async function acceptSuggestion() {
  const s = suggestions?.overall;
  const q = s && client.questions.get(s.question);
  if (!q || q.state !== 'queued') return;
  if (!client.list((x) => x.state === 'on_air').length) await run(q, { type: 'put_on_air', question: q.id, version: q.version });
  else await moveFirst(q);
}

/** A reorder that moves `q` to the front of its department's queue. */
function moveFirst(q) {
  const ids = client.list((x) => x.department === q.department && x.state === 'queued').sort(byQueue).map((x) => x.id).filter((id) => id !== q.id);
  return run(q, { type: 'reorder', department: q.department, order: [q.id, ...ids] });
}

function receiveNote(note) {
  if (backstage.some((n) => n.id === note.id)) return;
  backstage.unshift(note);
  backstage.splice(30);
  renderNotes();
  const text = t('mod.note_in', { from: noteSender(client.event, note.from), text: note.text });
  const el = $('#note-toast');
  el.textContent = text;
  el.hidden = false;
  clearTimeout(receiveNote.timer);
  receiveNote.timer = setTimeout(() => (el.hidden = true), 15000);
}

function renderNotes() {
  const ev = client.event;
  $('#notes').replaceChildren(
    ...(backstage.length
      ? backstage.map((n, i) => h('li', { class: i === 0 ? 'fresh' : '', attrs: { 'data-note-id': n.id } }, h('strong', { text: noteSender(ev, n.from) }), ' ', h('time', { class: 'muted', text: fmtTime(n.at) }), h('p', { text: n.text })))
      : [h('li', { class: 'muted', text: t('mod.no_notes') })]),
  );
}

function renderHalls() {
  const ev = client?.event;
  if (!ev) return;
  const pres = new Map(client.presence.map((p) => [p.hall, p]));
  const isUp = (id) => (pres.get(id)?.operators ?? 0) + (pres.get(id)?.displays ?? 0) > 0;
  const down = ev.halls.filter((x) => !isUp(x.id));
  $('#halls-summary').textContent = t('mod.halls_up', { up: ev.halls.length - down.length, total: ev.halls.length });
  $('#halls-down').textContent = down.length && down.length < ev.halls.length ? t('mod.halls_down', { halls: down.map((x) => x.name).join(', ') }) : '';
  $('#halls').replaceChildren(
    ...ev.halls.map((x) => {
      const p = pres.get(x.id);
      const up = isUp(x.id);
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
  if (!ev) return;
  const live = [...client.floor.values()].filter((f) => f.state === 'requested' || f.state === 'granted').sort((a, b) => a.requested_at - b.requested_at);
  const btn = (key, type, f, cls) => h('button', { text: t(key), class: cls, attrs: { type: 'button' }, on: { click: () => run(null, { type, request: f.id }) } });
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
  const ev = client?.event;
  if (!ev) return;
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
  const hint = suggestions?.departments?.[dept];
  const hinted = hint && client.questions.get(hint.question);
  $('#order-suggest').replaceChildren(
    ...(hinted && hinted.state === 'queued' && queued[0]?.id !== hinted.id
      ? [h('p', { class: 'suggest-line' }, h('span', { text: `${t('mod.suggest')}: ${short(hinted.text)} — ${lang() === 'en' && hint.reason_en ? hint.reason_en : hint.reason ?? ''}` }), ' ', h('button', { text: t('mod.suggest.dept_first'), attrs: { type: 'button' }, on: { click: () => moveFirst(hinted) } }))]
      : []),
  );
  $('#order').replaceChildren(
    ...(queue.length
      ? queue.map((q) =>
          h(
            'li',
            { class: q.state === 'on_air' ? 'card on_air' : '', attrs: { 'data-id': q.id, 'data-question-id': q.id } },
            h('span', { class: 'text', text: q.text.length > 120 ? `${q.text.slice(0, 117)}…` : q.text }),
            q.votes > 1 && h('span', { class: 'votes', text: String(q.votes) }),
            q.state === 'queued' && h('button', { text: '↑', attrs: { type: 'button', 'aria-label': t('mod.up'), 'data-key': `up:${q.id}` }, on: { click: () => move(q, -1) } }),
            q.state === 'queued' && h('button', { text: '↓', attrs: { type: 'button', 'aria-label': t('mod.down'), 'data-key': `down:${q.id}` }, on: { click: () => move(q, 1) } }),
          ),
        )
      : [h('li', { class: 'muted', text: t('mod.empty_queue') })]),
  );
}

function renderHelp() {
  $('#help-keys').replaceChildren(...KEYS.map(([k, key]) => h('tr', {}, h('th', {}, h('kbd', { text: k })), h('td', { text: t(key) }))));
}

// ---------------------------------------------------------------------------
// Keyboard
// ---------------------------------------------------------------------------

function shortcut(e) {
  if (e.ctrlKey || e.metaKey || e.altKey || $('#dlg').open || $('#help').open) return;
  if (e.target.closest('input:not(.pick), textarea, select')) {
    if (e.key === 'Escape') e.target.blur();
    return;
  }
  const q = selected && client.questions.get(selected);
  const step = (d) => {
    const next = list.step(selected, d);
    if (next) select(next);
  };
  const onSelected = (act) => q && act_(act, q);
  const bulkOr = (fn, single) => () => (picked.size ? fn() : single());
  const keys = {
    j: () => step(1), ArrowDown: () => step(1), k: () => step(-1), ArrowUp: () => step(-1),
    '/': () => $('#search').focus(), '?': () => $('#help').showModal(), n: showNew, u: undo, t: acceptSuggestion,
    Escape: () => (picked.size ? clearPicked() : hideToast()),
    ' ': () => q && togglePick(q.id, !picked.has(q.id)),
    a: bulkOr(bulkApprove, () => q?.state === 'pending' && onSelected('approve')),
    r: bulkOr(bulkRejectDialog, () => q && ['pending', 'approved', 'queued'].includes(q.state) && onSelected('reject')),
    g: bulkOr(() => $('#bulk-group').focus(), () => document.querySelector(`[data-key="group:${selected}"]`)?.focus()),
    s: bulkOr(() => $('#bulk-dept').focus(), () => document.querySelector(`[data-key="dept:${selected}"]`)?.focus()),
    e: () => q && OPEN.has(q.state) && onSelected('edit'),
    m: () => q && ['pending', 'approved', 'queued'].includes(q.state) && onSelected('merge'),
    o: () => q?.state === 'queued' && onSelected('on_air'),
    x: () => q && (q.state === 'on_air' || q.state === 'queued') && onSelected('answered'),
    w: () => q && ['approved', 'queued', 'on_air'].includes(q.state) && onSelected('defer'),
    d: () => q?.hints?.department && onSelected('hint-dept'),
    p: () => q?.hints?.group && onSelected('hint-group'),
    c: () => q && onSelected('redact'),
  };
  for (const [i, [name]] of TABS.entries()) keys[String(i + 1)] = () => switchTab(name);
  const fn = keys[e.key];
  if (!fn) return;
  e.preventDefault();
  fn();
}
