"""The interview as an applicant lives it, straight through the flows on a real database."""

from __future__ import annotations

import asyncio

from bot.criteria import Criteria
from bot.document import TEMPLATE
from bot.flows.dispatch import Dispatcher
from bot.flows.events import Event, Reply
from bot.flows.interview import Interview
from bot.storage import Storage
from bot.table_rows import rows_of
from bot.wording import say
from tests.conftest import PROFILE, FakeApplicant, answer_for, application_of, jpeg, pdf


async def test_nothing_is_stored_before_consent_and_declining_stores_nothing(applicant, storage) -> None:
    await applicant.say("我先随便说一句")
    assert "同意" in applicant.text
    await applicant.tap("不同意")
    assert "不保存任何内容" in applicant.text
    await applicant.say("还是看看吧")
    assert "欢迎使用质量奖申报助手" in applicant.text and applicant.button("同意并开始")
    assert await storage.find_applicant("test", "1001") is None
    await applicant.tap("同意并开始")
    assert "申报表 第 1/共 22 项" in applicant.text
    assert await storage.find_applicant("test", "1001") is not None


async def test_complete_interview_survives_a_restart_half_way(db_path, criteria: Criteria) -> None:
    storage = await Storage.open(db_path)
    applicant = FakeApplicant(Interview(storage, criteria), "2001", "李四")
    await applicant.consent()
    assert "申报表 第 1/共 22 项" in applicant.text
    await applicant.fill_profile()
    assert "申报表填好了" in applicant.text and "第 1/共 39 题" in applicant.text
    questions = criteria.questions
    for question in questions[:20]:
        assert f"{question.id} {question.text}" in applicant.text
        await applicant.say(answer_for(question.id))
        assert "已保存" in applicant.text
        await applicant.tap("下一题")
    # The process stops (a deploy, a crash) while the applicant is on question 21.
    await storage.close()

    storage = await Storage.open(db_path)
    applicant = FakeApplicant(Interview(storage, criteria), "2001", "李四")
    await applicant.command("start")
    assert "欢迎回来" in applicant.text and "已答 20/39 题" in applicant.text
    assert "第 21/共 39 题" in applicant.text and questions[20].text in applicant.text
    for question in questions[20:]:
        await applicant.say(answer_for(question.id))
        await applicant.tap("下一题")
    assert "全部 39 题都答完了" in applicant.text
    await applicant.tap("完成提交")
    assert "全部填好了" in applicant.text
    await applicant.tap("确认提交")
    assert "申报已于" in applicant.text and "提交" in applicant.text

    app = await application_of(storage, applicant)
    assert app.status == "submitted"
    answers = await storage.answers(app.id)
    assert answers == {q.id: answer_for(q.id) for q in questions}
    profile = await storage.profile(app.id)
    assert profile["phone"] == "13812345678" and profile["birth"] == "1985-06" and profile["gender"] == "男"
    assert rows_of(profile["experience"], 3) == rows_of(PROFILE["experience"], 3)  # a table now, row by row
    await storage.close()


async def test_an_answer_in_several_messages_is_one_answer_and_the_count_is_shown(applicant, storage) -> None:
    await applicant.reach_questions()
    await applicant.say("第一段：我坚持每天班前会讲质量。")
    assert "已保存 1.1a 的回答，本题现有 16 字" in applicant.text
    await applicant.say("第二段：2024年起推行自检互检。")
    assert "已补充到 1.1a，本题现有" in applicant.text
    app = await application_of(storage, applicant)
    assert await storage.answer(app.id, "1.1a") == "第一段：我坚持每天班前会讲质量。\n第二段：2024年起推行自检互检。"


async def test_rewriting_an_answer_keeps_the_earlier_text_in_the_history(applicant, storage) -> None:
    await applicant.reach_questions()
    await applicant.say("初稿：我重视质量。")
    await applicant.tap("重写本题")
    assert "替换现有内容" in applicant.text
    await applicant.say("定稿：2023年起我每月组织一次质量复盘，覆盖 6 个班组。")
    assert "已用新内容替换 1.1a" in applicant.text
    app = await application_of(storage, applicant)
    assert await storage.answer(app.id, "1.1a") == "定稿：2023年起我每月组织一次质量复盘，覆盖 6 个班组。"
    history = [r.text for r in await storage.history(app.id, "1.1a")]
    assert history == ["初稿：我重视质量。", "定稿：2023年起我每月组织一次质量复盘，覆盖 6 个班组。"]


async def test_editing_a_sent_message_updates_its_part_of_the_answer(applicant, storage) -> None:
    await applicant.reach_questions()
    await applicant.say("第一段。")
    await applicant.say("第二段有错别子。")
    await applicant.edit(applicant.refs[-1], "第二段改好了。")
    assert "已按您修改后的消息更新 1.1a" in applicant.text
    app = await application_of(storage, applicant)
    assert await storage.answer(app.id, "1.1a") == "第一段。\n第二段改好了。"
    assert [r.action for r in await storage.history(app.id, "1.1a")] == ["append", "append", "edit"]
    # Editing the phone number message re-validates it; a wrong one changes nothing.
    phone_ref = applicant.refs[PROFILE_TYPED.index("phone")]
    await applicant.edit(phone_ref, "12345")
    assert "手机号好像不对" in applicant.text and "没有生效" in applicant.text
    await applicant.edit(phone_ref, "13900001111")
    assert (await storage.profile(app.id))["phone"] == "13900001111"


# Profile fields typed (not tapped) in fill_profile, in order: their message refs follow this order.
PROFILE_TYPED = ["name", "ethnicity", "birth", "idcard", "education", "unit", "position", "title", "years", "phone",
                 "email", "experience"]


async def test_skip_back_and_jump_move_around_without_losing_anything(applicant, storage, criteria) -> None:
    await applicant.reach_questions()
    await applicant.tap("跳过")
    assert "1.1b" in applicant.text and "第 2/共 39 题" in applicant.text
    await applicant.say("1.1b 的回答")
    await applicant.tap("上一题")
    assert "第 1/共 39 题" in applicant.text and "1.1a" in applicant.text
    await applicant.command("jump", "7.4")
    assert "7 结果 › 7.4 社会影响" in applicant.text and "7.4a" in applicant.text
    await applicant.command("jump", "3.2b")
    assert "3.2b " + criteria.question("3.2b").text in applicant.text
    await applicant.tap("目录")
    await applicant.tap("6 改进与创新")
    await applicant.tap("6.2 创新")
    assert "6.2a" in applicant.text
    await applicant.command("jump", "9.9")
    assert "没有找到「9.9」" in applicant.text
    await applicant.command("jump", "1.1b")
    assert "本题已有回答（7 字）" in applicant.text and "1.1b 的回答" in applicant.text


async def test_back_from_the_first_question_returns_to_the_profile(applicant) -> None:
    await applicant.reach_questions()
    await applicant.tap("上一题")
    assert "个人简介及主要事迹" in applicant.text  # the 申报表's last field
    await applicant.tap("跳过此项")
    assert "第 1/共 39 题" in applicant.text


async def test_progress_shows_each_category(applicant) -> None:
    await applicant.reach_questions()
    await applicant.say("回答一")
    await applicant.tap("下一题")
    await applicant.say("回答二")
    await applicant.command("progress")
    assert "自评报告已答 2/39 题" in applicant.text
    assert "1 意识与素质 ■■□□□□ 2/6" in applicant.text
    assert "7 结果 □□□□□□ 0/11" in applicant.text
    assert "当前位置：第 2 题（1.1b）" in applicant.text


async def test_review_shows_every_answer_and_what_is_empty(applicant) -> None:
    await applicant.reach_questions()
    await applicant.say("我的第一条回答 & <特殊> 字符")
    await applicant.command("review")
    assert "姓名：张三" in applicant.text
    assert "我的第一条回答 & <特殊> 字符" in applicant.text
    assert "（未填写）" in applicant.text
    assert "自评报告：1.1b、1.1c" in applicant.text


async def test_finishing_with_empty_answers_lists_them_and_asks_first(applicant, storage) -> None:
    await applicant.reach_questions()
    await applicant.say("只答了一题")
    await applicant.command("finish")
    assert "还有 38 处没有填写" in applicant.text and "1.1b" in applicant.text
    await applicant.tap("继续填写")
    app = await application_of(storage, applicant)
    assert app.status == "active"
    await applicant.command("finish")
    await applicant.tap("仍然提交")
    app = await storage.application(app.applicant_id)
    assert app.status == "submitted"
    await applicant.say("提交后又发了一句")
    assert "已于" in applicant.text and "重新打开" in applicant.text
    assert await storage.answer(app.id, "1.1a") == "只答了一题"
    await applicant.tap("重新打开")
    assert "已重新打开" in applicant.text
    assert (await storage.application(app.applicant_id)).status == "active"


async def test_a_confirm_button_from_an_old_message_does_not_submit(applicant, storage) -> None:
    await applicant.reach_questions()
    await applicant.command("finish")
    confirm = applicant.button("仍然提交")
    await applicant.say("其实我还想写一句")  # answering clears the pending confirmation
    await applicant.press(confirm.data)
    assert "按钮来自之前的消息" in applicant.text
    app = await application_of(storage, applicant)
    assert app.status == "active"


async def test_a_button_from_an_earlier_question_is_refused_without_changes(applicant, storage) -> None:
    await applicant.reach_questions()
    await applicant.say("1.1a 的回答")
    rewrite_11a = applicant.button("重写本题")
    await applicant.tap("下一题")
    await applicant.press(rewrite_11a.data)
    assert "按钮来自之前的消息" in applicant.text and "1.1b" in applicant.text
    await applicant.say("这是 1.1b 的回答")
    app = await application_of(storage, applicant)
    assert await storage.answer(app.id, "1.1a") == "1.1a 的回答"
    assert await storage.answer(app.id, "1.1b") == "这是 1.1b 的回答"
    await applicant.press("nonsense:data")
    assert "按钮来自之前的消息" in applicant.text
    await applicant.press("pc:gender:7")
    assert "按钮来自之前的消息" in applicant.text


async def test_bad_input_gets_a_clear_reply_and_loses_nothing(applicant, storage, criteria) -> None:
    await applicant.reach_questions()
    await applicant.say("原有回答")
    # Going over the 申报表 again, with typing mistakes on the way.
    await applicant.command("profile")
    await applicant.tap("保留原值")  # 姓名
    await applicant.tap("保留原值")  # 性别
    await applicant.tap("保留原值")  # 民族
    await applicant.say("85年")
    assert "请写成 年-月，例如 1985-06" in applicant.text
    await applicant.say("1985.6")
    await applicant.say("32070319850612101")
    assert "身份证号应为 18 位" in applicant.text
    for _ in ["idcard", "photo", "political", "education", "school", "work_start", "unit", "unit_code", "address",
              "position", "title"]:
        await applicant.keep_or_skip()
    await applicant.say("十二")
    assert "请只填数字" in applicant.text
    await applicant.say("99")
    assert "应在 0 到 60 之间" in applicant.text
    await applicant.tap("保留原值")
    await applicant.say("1381234567")
    assert "手机号好像不对" in applicant.text
    await applicant.say("+86 139-0000-1111")
    await applicant.keep_or_skip()  # 办公电话
    await applicant.say("zhangsan@")
    assert "电子邮箱格式不对" in applicant.text
    await applicant.tap("保留原值")
    assert "主要工作经历" in applicant.text

    await applicant.command("jump", "1.1a")
    await applicant.say("")
    assert "没有收到文字内容" in applicant.text
    await applicant.say("\x00\x07\x1b")
    assert "没有收到文字内容" in applicant.text
    await applicant.say("补充 🎉 表情\x0b和控制\x07字符")
    await applicant.command("nosuchthing")
    assert "没有「/nosuchthing」这个命令" in applicant.text
    long_text = "质" * 20_000
    await applicant.say(long_text)
    assert "超出建议的 1500 字" in applicant.text
    await applicant.say("量" * 40_000)
    assert "这次没有保存" in applicant.text

    app = await application_of(storage, applicant)
    profile = await storage.profile(app.id)
    assert profile["birth"] == "1985-06" and profile["phone"] == "13900001111"
    assert profile["email"] == "zhangsan@example.com" and profile["years"] == "12"
    assert profile["title"] == "高级工程师"
    answer = await storage.answer(app.id, "1.1a")
    assert answer == "原有回答\n补充 🎉 表情\n和控制字符\n" + long_text


async def test_a_question_budget_and_the_report_budget_are_announced(db_path, criteria) -> None:
    small = criteria.model_copy(update={"budget": criteria.budget.model_copy(
        update={"question_max_chars": 10, "report_max_chars": 15})})
    storage = await Storage.open(db_path)
    applicant = FakeApplicant(Interview(storage, small), "3001")
    await applicant.reach_questions()
    assert "建议不超过 10 字" in applicant.text
    await applicant.say("一二三四五六七八九十十一")
    assert "本题 12 字，超出建议的 10 字 2 字" in applicant.text
    await applicant.tap("下一题")
    await applicant.say("一二三四五")
    assert "自评报告合计 17 字，超出建议的 15 字" in applicant.text
    await storage.close()


async def test_a_file_sent_on_a_question_is_kept_as_its_evidence(applicant, storage, tmp_path) -> None:
    from bot.flows.events import FileReceived

    await applicant.reach_questions()
    await applicant.command("jump", "7.4a")
    await applicant._send(FileReceived(applicant.sender, "证书.jpg", "image/jpeg", jpeg("cert"),
                                       caption="省级劳模证书"))
    assert "已收到「证书.jpg」，作为 7.4a 的证明材料（本题共 1 份）" in applicant.text
    assert "显示不出来" not in applicant.text and "清单" not in applicant.text
    app = await application_of(storage, applicant)
    [attachment] = await storage.attachments(app.id)
    assert (attachment.question_id, attachment.caption) == ("7.4a", "省级劳模证书")
    # Formats Word cannot show inside the 申报书 are kept too, and the applicant learns it now.
    await applicant._send(FileReceived(applicant.sender, "IMG_0001.HEIC", "image/heic", b"heic bytes"))
    assert "本题共 2 份" in applicant.text and "只会列出文件名" in applicant.text
    await applicant._send(FileReceived(applicant.sender, "证书.pdf", "application/pdf", pdf("cert")))
    assert "本题共 3 份" in applicant.text and "证明材料清单" in applicant.text


async def test_one_applicants_messages_are_handled_in_order_while_others_proceed(storage, criteria) -> None:
    interview = Interview(storage, criteria)
    parts = [f"第{n}段" for n in range(12)]
    second_done = asyncio.Event()

    async def uneven(event: Event) -> list[Reply]:
        # Handling takes uneven time (a slow disk, a file on its way): the first applicant's earlier
        # messages take longest, and her first waits until the second applicant is through. Only a
        # lane per applicant keeps her parts in order and lets the other go on meanwhile.
        text = getattr(event, "text", None)
        if event.sender.user_id == "4001" and text in parts:
            await asyncio.sleep(0.003 * (len(parts) - parts.index(text)))
            if text == parts[0]:
                await asyncio.wait_for(second_done.wait(), 10)
        return await interview.handle(event)

    dispatcher = Dispatcher(uneven)
    first = FakeApplicant(dispatcher, "4001")
    second = FakeApplicant(dispatcher, "4002")
    for person in (first, second):
        await person.consent()
        await person.fill_profile()
    # Fire everything at once, as a burst of Telegram updates would arrive.
    burst = asyncio.gather(*[first.say(p) for p in parts])
    await asyncio.gather(*[second.say(p + "B") for p in parts])
    second_done.set()
    await burst
    app1 = await application_of(storage, first)
    app2 = await application_of(storage, second)
    assert await storage.answer(app1.id, "1.1a") == "\n".join(parts)
    assert await storage.answer(app2.id, "1.1a") == "\n".join(p + "B" for p in parts)
    assert dispatcher.active == 0


async def test_a_long_text_in_several_messages_stays_in_its_field_until_done(applicant, storage) -> None:
    await applicant.consent()
    await applicant.fill_profile({**PROFILE, "summary": "2008年起从事质量检验工作。"})
    await applicant.tap("上一题")  # back from 1.1a to 个人简介, then add to it
    await applicant.say("2014年起负责公司质量管理体系。")
    assert "已记下个人简介及主要事迹" in applicant.text
    await applicant.say("2020年起兼任内审员。")
    assert "完成本项" in str(applicant.buttons)
    app = await application_of(storage, applicant)
    assert (await storage.profile(app.id))["summary"] == "2014年起负责公司质量管理体系。\n2020年起兼任内审员。"
    assert await storage.answers(app.id) == {}
    await applicant.tap("完成本项")
    assert "申报表填好了" in applicant.text and "1.1a" in applicant.text


async def test_a_rewrite_never_applies_to_a_message_typed_after_doing_something_else(applicant, storage) -> None:
    await applicant.reach_questions()
    await applicant.say("原来的一大段回答。")
    await applicant.tap("重写本题")
    await applicant.command("review")  # wanders off to read everything first
    await applicant.command("where")
    await applicant.say("补充一句")
    app = await application_of(storage, applicant)
    assert await storage.answer(app.id, "1.1a") == "原来的一大段回答。\n补充一句"


async def test_undo_brings_back_the_answer_before_a_rewrite(applicant, storage) -> None:
    await applicant.reach_questions()
    await applicant.command("undo")
    assert "没有更早的版本" in applicant.text
    await applicant.say("第一版：详细的回答。")
    await applicant.command("rewrite")
    await applicant.say("短")
    await applicant.command("undo")
    assert "已恢复 1.1a 的上一个版本" in applicant.text and "第一版：详细的回答。" in applicant.text
    app = await application_of(storage, applicant)
    assert await storage.answer(app.id, "1.1a") == "第一版：详细的回答。"


async def test_after_a_restart_in_rewrite_mode_the_prompt_says_so_and_offers_cancel(db_path, criteria) -> None:
    storage = await Storage.open(db_path)
    applicant = FakeApplicant(Interview(storage, criteria), "5001")
    await applicant.reach_questions()
    await applicant.say("旧回答")
    await applicant.tap("重写本题")
    await storage.close()
    storage = await Storage.open(db_path)
    applicant = FakeApplicant(Interview(storage, criteria), "5001")
    await applicant.say("新回答")  # the rewrite survives the restart
    app = await application_of(storage, applicant)
    assert await storage.answer(app.id, "1.1a") == "新回答"
    await applicant.tap("重写本题")
    await storage.close()
    storage = await Storage.open(db_path)
    applicant = FakeApplicant(Interview(storage, criteria), "5001")
    await applicant.command("start")
    assert "替换现有内容" in applicant.text and "会接在后面" not in applicant.text
    assert [b.label for b in applicant.buttons] == ["取消"]
    await storage.close()


async def test_reopening_returns_to_where_the_applicant_submitted_from(applicant, storage) -> None:
    await applicant.reach_questions()
    await applicant.command("jump", "3.1a")
    await applicant.command("finish")
    await applicant.tap("仍然提交")
    await applicant.say("又想起一句")
    assert "这条内容没有保存" in applicant.text
    await applicant.command("show")
    assert "3.1a 还没有回答" in applicant.text and applicant.buttons == []
    await applicant.command("progress")
    assert {b.label for b in applicant.buttons} == {"回顾全部", "重新打开"}
    await applicant.command("reopen")
    assert "3.1a" in applicant.text and "第 12/共 39 题" in applicant.text


async def test_an_edit_of_a_message_that_a_rewrite_replaced_is_explained(applicant, storage) -> None:
    await applicant.reach_questions()
    await applicant.say("被替换的消息")
    await applicant.tap("重写本题")
    await applicant.say("新内容")
    await applicant.edit(applicant.refs[-2], "改一下被替换的消息")
    assert "已被重写替换，修改没有生效" in applicant.text
    app = await application_of(storage, applicant)
    assert await storage.answer(app.id, "1.1a") == "新内容"


async def test_jump_to_a_category_number_opens_its_items_and_help_works_before_consent(applicant) -> None:
    await applicant.command("help")
    assert "同意并开始" in applicant.text and applicant.button("同意并开始")
    await applicant.reach_questions()
    await applicant.command("jump", "3")
    assert "3 顾客：请选择条目" in applicant.text
    assert [b.label for b in applicant.buttons][:2] == ["3.1 顾客关系", "3.2 顾客满意"]


async def test_an_applicant_on_a_step_the_criteria_no_longer_have_is_moved_on(applicant, storage, criteria) -> None:
    await applicant.reach_questions()
    await applicant.say("1.1a 的回答")
    app = await application_of(storage, applicant)
    await storage.update_application(app.id, step="p:no_longer_asked")
    await applicant.say("1.1b 的回答")
    assert "已保存 1.1b 的回答" in applicant.text
    assert await storage.answer(app.id, "1.1a") == "1.1a 的回答"


async def test_coming_back_after_a_while_updates_when_the_applicant_was_last_active(applicant, storage) -> None:
    await applicant.reach_questions()
    async with storage._tx() as db:
        await db.execute("UPDATE applicants SET last_active_at = '2026-01-01T00:00:00+00:00'")
    await applicant.say("三个月后回来接着写")
    found = await storage.find_applicant("test", "1001")
    assert found.last_active_at > "2026-01-02"


async def test_a_draft_can_be_previewed_any_time_and_finishing_makes_the_final_version(
    storage, criteria, tmp_path
) -> None:
    from docx import Document

    applicant = FakeApplicant(Interview(storage, criteria, data_dir=tmp_path / "files"), "6001", "吴八")
    await applicant.reach_questions()
    await applicant.say(answer_for("1.1a"))
    await applicant.command("progress")
    replies = await applicant.tap("预览申报书")
    [draft] = [r for r in replies if r.document is not None]
    assert draft.document_name == "申报书-张三-第1版-草稿.docx"
    assert "第 1 版" in draft.text and "预览" in draft.text
    texts = [p.text for p in Document(str(draft.document)).paragraphs]
    assert answer_for("1.1a") in texts and "（未填写）" in texts
    # The applicant goes on answering; a later preview is a new version and the old file stays.
    await applicant.command("next")
    await applicant.say(answer_for("1.1b"))
    [second] = [r for r in await applicant.command("draft") if r.document is not None]
    assert "第 2 版" in second.text and draft.document.exists() and second.document != draft.document
    await applicant.command("finish")
    replies = await applicant.tap("仍然提交")
    [final] = [r for r in replies if r.document is not None]
    assert final.document_name == "申报书-张三-第1版.docx" and "第 1 版" in final.text
    texts = [p.text for p in Document(str(final.document)).paragraphs]
    assert answer_for("1.1b") in texts and not any("草稿" in t for t in texts)
    # After submitting, /draft and /document both give the submitted version, not a new draft.
    again = [r for r in await applicant.command("draft") if r.document is not None]
    assert [r.document for r in again] == [final.document]
    again = [r for r in await applicant.command("document") if r.document is not None]
    assert [r.document for r in again] == [final.document]
    app = await application_of(storage, applicant)
    assert (await storage.latest_document(app.id)).kind == "final"


async def test_a_document_that_cannot_be_made_costs_no_answers(storage, criteria, tmp_path) -> None:
    broken = tmp_path / "broken-template.docx"
    broken.write_bytes(b"not a zip file")
    interview = Interview(storage, criteria, data_dir=tmp_path / "files", template=broken)
    applicant = FakeApplicant(interview, "6002")
    await applicant.reach_questions()
    await applicant.say(answer_for("1.1a"))
    replies = await applicant.command("draft")
    assert all(r.document is None for r in replies)
    assert "没能生成" in applicant.text and "已保存" in applicant.text
    app = await application_of(storage, applicant)
    assert (await storage.answers(app.id))["1.1a"] == answer_for("1.1a")
    assert await storage.latest_document(app.id) is None
    # Submitting still works; the applicant is told the file is late, and /document makes it once
    # the office has fixed the template.
    await applicant.command("finish")
    await applicant.tap("仍然提交")
    assert "提交成功" in applicant.text and "/document" in applicant.text
    assert (await application_of(storage, applicant)).status == "submitted"
    interview.documents.template = TEMPLATE
    [final] = [r for r in await applicant.command("document") if r.document is not None]
    assert final.document_name == "申报书-张三-第1版.docx"
    assert (await storage.latest_document(app.id)).kind == "final"


async def test_previewing_again_without_changes_resends_the_same_draft(storage, criteria, tmp_path) -> None:
    applicant = FakeApplicant(Interview(storage, criteria, data_dir=tmp_path / "files"), "6003")
    await applicant.reach_questions()
    await applicant.say(answer_for("1.1a"))
    [first] = [r for r in await applicant.command("draft") if r.document is not None]
    await applicant.command("next")  # moving around changes nothing in the document
    [again] = [r for r in await applicant.command("draft") if r.document is not None]
    assert again.document == first.document and "第 1 版" in again.text
    await applicant.command("back")
    await applicant.say("补充一句。")
    [changed] = [r for r in await applicant.command("draft") if r.document is not None]
    assert changed.document != first.document and "第 2 版" in changed.text



async def test_a_rewrite_waiting_on_a_question_the_criteria_dropped_ends_where_the_applicant_resumes(
        storage, criteria: Criteria) -> None:
    applicant = FakeApplicant(Interview(storage, criteria), "6101", "王芳")
    await applicant.reach_questions()
    await applicant.say("1.1a 的回答")
    await applicant.command("rewrite")
    app = await application_of(storage, applicant)
    # The office installed a criteria file without this question while the rewrite waited.
    await storage.update_application(app.id, step="q:9.9z")
    [prompt] = await applicant.command("where")
    app = await application_of(storage, applicant)
    assert app.step == f"q:{criteria.questions[1].id}" and app.mode == ""
    assert say("rewrite_prompt", id=criteria.questions[1].id) not in prompt.text
    replies = await applicant.say("新的一段")
    assert (await storage.answers(app.id))[criteria.questions[1].id] == "新的一段"
    assert say("saved_first", id=criteria.questions[1].id, chars=4) in replies[0].text
