// A participant's receipt: the state of their question and, once published,
// the written answer. Polls GET /api/receipts; the receipt in the link proves
// the reader asked the question. Shows no personal data.

import { hashParams } from './client.js';
import { addStrings, t, onLang } from './i18n.js';
import { $, initPage, fmtDate } from './ui.js';

addStrings(
  {
    'rc.page_title': 'Theo dõi câu hỏi — doithoai', 'rc.title': 'Theo dõi câu hỏi', 'rc.question': 'Câu hỏi của bạn', 'rc.state': 'Trạng thái', 'rc.answer': 'Trả lời bằng văn bản',
    'rc.note': 'Trang tự cập nhật. Hãy lưu đường dẫn này để xem lại.', 'rc.not_found': 'Không tìm thấy câu hỏi (đường dẫn không đúng).',
    'rc.offline': 'Chưa kết nối được; đang thử lại…', 'rc.agency': 'Cơ quan trả lời: {a}, hạn {d}', 'rc.reason': 'Lý do: {r}', 'rc.merged': 'Câu hỏi của bạn đã được gộp với một câu hỏi cùng nội dung.',
  },
  {
    'rc.page_title': 'Follow your question — doithoai', 'rc.title': 'Follow your question', 'rc.question': 'Your question', 'rc.state': 'State', 'rc.answer': 'Written answer',
    'rc.note': 'This page updates itself. Keep the link to come back.', 'rc.not_found': 'Question not found (the link is wrong).',
    'rc.offline': 'Cannot reach the server; retrying…', 'rc.agency': 'Answering agency: {a}, due {d}', 'rc.reason': 'Reason: {r}', 'rc.merged': 'Your question was merged with another asking the same.',
  },
);

initPage();
const p = hashParams();
let last = null;

async function poll() {
  try {
    const r = await fetch(`/api/receipts/${encodeURIComponent(p.get('q') ?? '')}?r=${encodeURIComponent(p.get('r') ?? '')}`);
    if (r.status === 404) return show(null, t('rc.not_found'));
    if (!r.ok) throw new Error(String(r.status));
    last = await r.json();
    show(last, '');
  } catch {
    show(last, t('rc.offline'));
  }
}

function show(v, error) {
  $('#error').hidden = !error;
  $('#error').textContent = error;
  // A failed refresh under a state already shown is a quiet note, not an alarm.
  $('#error').className = error && v ? 'muted' : 'error';
  if (!v) return;
  $('#box').hidden = false;
  $('#box').dataset.questionId = p.get('q') ?? '';
  $('#text').textContent = v.text;
  $('#state').textContent = t(`state.${v.state}`);
  $('#state').dataset.state = v.state;
  const detail = [v.merged_into && t('rc.merged'), v.agency && t('rc.agency', { a: v.agency, d: fmtDate(v.due) }), v.reject_reason && t('rc.reason', { r: v.reject_reason })];
  $('#detail').textContent = detail.filter(Boolean).join(' ');
  $('#answer-box').hidden = !v.answer;
  $('#answer').textContent = v.answer ?? '';
}

onLang(() => show(last, ''));
poll();
setInterval(poll, 10000);
