/**
 * The Chinese words the app (./zh-CN.ts) shares with the widget (src/widget/strings-zh.ts), which cannot
 * take the whole UI dictionary: the catalog genres' names and the memory-only storage line. Plain
 * objects and type-only imports, so that the widget bundle pulls in these words and nothing else.
 */
import type { MemoryReason } from '../../storage/memory-notices';

/** storage/memory-notices.ts in Simplified Chinese. */
export const MEMORY_NOTICES_ZH: Record<MemoryReason, string> = {
  unavailable: '你的选择只在这次访问中保留：这个浏览器不允许推荐程序保存它们。',
  blocked: '你的选择只在这次访问中保留：本应用的另一个标签页正占用它的数据。关闭那个标签页并重新加载即可保存。',
  quota: '这个浏览器为本应用提供的存储空间已满：新的选择只在这次访问中保留。之前保存的内容仍然保存着。',
  lost: '页面打开期间浏览器关闭或删除了已保存的数据：新的选择只在这次访问中保留。',
};

/** The catalog genres' names. */
export const GENRE_NAMES_ZH = {
  fiction: '小说',
  fantasy: '奇幻',
  romance: '爱情',
  contemporary: '当代',
  'young-adult': '青少年',
  mystery: '推理',
  classics: '经典',
  'historical-fiction': '历史小说',
  thriller: '惊悚',
  nonfiction: '非虚构',
  crime: '犯罪',
  'science-fiction': '科幻',
  suspense: '悬疑',
  paranormal: '超自然',
  'chick-lit': '都市女性',
  history: '历史',
  biography: '传记',
  horror: '恐怖',
  memoir: '回忆录',
  books: '图书',
  philosophy: '哲学',
  psychology: '心理学',
  religion: '宗教',
  'graphic-novels': '图像小说',
  comics: '漫画',
  science: '科学',
  'self-help': '自助',
  spirituality: '灵修',
  christian: '基督教',
  business: '商业',
  poetry: '诗歌',
  art: '艺术',
  travel: '旅行',
  manga: '日本漫画',
  music: '音乐',
  sports: '体育',
  cookbooks: '烹饪',
  'humor-and-comedy': '幽默',
  'gay-and-lesbian': '同性恋',
};
