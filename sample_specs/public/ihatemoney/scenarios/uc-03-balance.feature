# language: zh-CN
功能: UC-03 查看各成员的余额

  场景: 项目统计列出成员余额
    假如 以测试账户“bob”登录
    当 调用操作“statistics”
    那么 操作成功
    而且 应答字段“items”不为空
