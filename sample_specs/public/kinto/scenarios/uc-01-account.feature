# language: zh-CN
功能: UC-01 注册账户并以其口令访问本账户（Accounts：Create an account；Authentication）

  场景: 以测试账户的口令访问本账户
    假如 以测试账户“alice”登录
    当 调用操作“account”
    那么 操作成功
    而且 应答字段“id”为“<alice.用户名>”
    当 调用操作“whoami”
    那么 操作成功
    而且 应答字段“user”为“account:<alice.用户名>”
