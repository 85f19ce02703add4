// UI strings, Vietnamese first with English as the alternative. Every string a
// page shows lives in a dictionary: the shared ones below, page-specific ones
// added by each page with addStrings(), so a small page (the phone) does not
// download the console's vocabulary. The choice is kept in localStorage.
// Elements opt in with data-i18n (text, also the page's <title>, which is
// how the tab's name follows the switch), data-i18n-ph (placeholder) and
// data-i18n-title (the title attribute and aria-label); apply() fills them.

const KEY = 'doithoai.lang';
const dict = {
  vi: {
    'lang.toggle': 'English',
    'lang.toggle.title': 'Switch to English',
    'conn.connecting': 'Đang kết nối…',
    'conn.connected': 'Đã kết nối',
    'conn.reconnecting': 'Mất kết nối — đang kết nối lại…',
    'conn.offline': 'Ngoại tuyến',
    'conn.denied': 'Mã truy cập không hợp lệ',
    'state.pending': 'Chờ duyệt',
    'state.approved': 'Đã duyệt',
    'state.rejected': 'Từ chối',
    'state.merged': 'Đã gộp',
    'state.queued': 'Trong hàng chờ',
    'state.on_air': 'Đang trả lời',
    'state.answered': 'Đã trả lời tại chỗ',
    'state.deferred': 'Trả lời bằng văn bản',
    'state.answer_drafted': 'Đã dự thảo trả lời',
    'state.answer_sent': 'Đã gửi trả lời',
    'state.published': 'Đã công bố',
    'source.participant': 'Điện thoại',
    'source.hall': 'Điểm cầu',
    'source.moderator': 'Điều phối',
    'source.import': 'Thu thập trước',
    'common.on_air': 'Đang trả lời',
    'common.no_group': 'Chưa phân nhóm',
    'common.no_department': 'Chưa giao',
    'common.new_question': 'Câu hỏi mới: {text}',
    'common.votes': '{n} người hỏi',
    'common.floor_granted': 'Điểm cầu đang phát biểu: {hall}',
    'common.nothing_on_air': 'Chưa có câu hỏi nào đang được trả lời',
    'common.no_token': 'Thiếu mã truy cập trong đường dẫn (#token=…). Hãy mở đúng liên kết được cấp.',
  },
  en: {
    'lang.toggle': 'Tiếng Việt',
    'lang.toggle.title': 'Chuyển sang tiếng Việt',
    'conn.connecting': 'Connecting…',
    'conn.connected': 'Connected',
    'conn.reconnecting': 'Connection lost — reconnecting…',
    'conn.offline': 'Offline',
    'conn.denied': 'Invalid access token',
    'state.pending': 'Pending',
    'state.approved': 'Approved',
    'state.rejected': 'Rejected',
    'state.merged': 'Merged',
    'state.queued': 'Queued',
    'state.on_air': 'On air',
    'state.answered': 'Answered live',
    'state.deferred': 'Written answer',
    'state.answer_drafted': 'Answer drafted',
    'state.answer_sent': 'Answer sent',
    'state.published': 'Published',
    'source.participant': 'Phone',
    'source.hall': 'Hall',
    'source.moderator': 'Moderator',
    'source.import': 'Collected beforehand',
    'common.on_air': 'On air',
    'common.no_group': 'No issue group',
    'common.no_department': 'Not assigned',
    'common.new_question': 'New question: {text}',
    'common.votes': '{n} asked',
    'common.floor_granted': 'Hall with the floor: {hall}',
    'common.nothing_on_air': 'No question is on air',
    'common.no_token': 'The link has no access token (#token=…). Open the link you were given.',
  },
};

function stored() {
  try {
    return localStorage.getItem(KEY);
  } catch {
    return null; // storage disabled: stay in Vietnamese
  }
}

let current = stored() === 'en' ? 'en' : 'vi';
const listeners = [];

export function addStrings(vi, en) {
  Object.assign(dict.vi, vi);
  Object.assign(dict.en, en);
}

export function lang() {
  return current;
}

/** The string for `key` in the current language, with {name} placeholders filled. */
export function t(key, vars) {
  const s = dict[current][key] ?? dict.vi[key] ?? key;
  return vars ? s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m)) : s;
}

export function apply(root = document) {
  document.documentElement.lang = current;
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-ph]')) el.placeholder = t(el.dataset.i18nPh);
  for (const el of root.querySelectorAll('[data-i18n-title]')) {
    el.title = t(el.dataset.i18nTitle);
    el.setAttribute('aria-label', el.title);
  }
}

export function setLang(next) {
  current = next === 'en' ? 'en' : 'vi';
  try {
    localStorage.setItem(KEY, current);
  } catch {
    // not persisted; the switch still applies to this page
  }
  apply();
  for (const fn of listeners) fn(current);
}

/** Call `fn` after every language switch (to re-render dynamic text). */
export function onLang(fn) {
  listeners.push(fn);
}

/** Wire a button (data-i18n="lang.toggle") that flips the language. */
export function langToggle(button) {
  button.addEventListener('click', () => setLang(current === 'vi' ? 'en' : 'vi'));
}
